#!/usr/bin/env bash
# Checks the deployment files under deploy/ without building or running them:
#   - every YAML file parses (PyYAML; a key given twice in one mapping is an error)
#   - deploy/k8s: each object has apiVersion, kind and metadata.name; the
#     kustomization lists every manifest; each Deployment runs 1 replica with
#     strategy Recreate, listens on 0.0.0.0, has readiness and liveness probes
#     running `cxctl health`, mounts the Secret cx-tokens where CX_TOKENS_FILE
#     points, and has its PersistentVolumeClaim and Service; `kubectl kustomize`
#     renders it when kubectl is installed
#   - deploy/compose.yaml: names profiles, loyalty, journey and feedback, each
#     with a cxctl healthcheck, ports on 127.0.0.1 only, its own volume, the
#     tokens secret, and peer addresses naming compose services
#   - deploy/systemd: each unit parses as an INI file with the sections it needs
#     and the settings the services rely on; `systemd-analyze verify` when it is
#     installed (binaries not installed in /usr/local/bin are not an error)
#   - deploy/container/Containerfile: a build stage and a runtime stage that
#     copies the five executables from it and runs as a non-root user
# Prints each problem as "file: problem" and exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
  echo "check-deploy: python3 is needed" >&2
  exit 1
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "check-deploy: installing python package pyyaml" >&2
  python3 -m pip install -q --disable-pip-version-check pyyaml 2>&1 | grep -v "WARNING: Running pip as the 'root' user" >&2 || true
fi
if ! python3 -c 'import yaml' 2>/dev/null && command -v apt-get >/dev/null 2>&1; then
  echo "check-deploy: installing python3-yaml" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-yaml >/dev/null
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "check-deploy: PyYAML is missing and could not be installed (pip install pyyaml)" >&2
  exit 1
fi

exec python3 - <<'PY'
import os
import re
import shutil
import subprocess
import sys

import yaml

SERVICES = {"profiles": 7101, "loyalty": 7102, "journey": 7103, "feedback": 7104}
PEERS = {"profiles": ["loyalty", "journey", "feedback"], "journey": ["profiles"], "loyalty": ["profiles", "journey"],
         "feedback": ["profiles", "journey", "loyalty"]}
# Start order for systemd: each unit after the peers it depends on most. Not
# PEERS itself: profiles sends erasures to the other three, and ordering both
# ways would be a cycle (the outbox makes any order safe anyway).
START_AFTER = {"profiles": [], "journey": ["profiles"], "loyalty": ["profiles", "journey"],
               "feedback": ["profiles", "journey", "loyalty"]}
EXECUTABLES = [f"cx-{s}" for s in SERVICES] + ["cxctl"]
SHUTDOWN_GRACE_DEFAULT = 30.0

problems = []
notes = []


def problem(path, message):
    problems.append(f"{path}: {message}")


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (merge keys aside)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(path):
    """All documents of a YAML file (empty ones dropped), or None when it does not parse."""
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.load_all(f, Loader=UniqueKeyLoader) if d is not None]
    except (OSError, yaml.YAMLError) as error:
        problem(path, f"does not parse as YAML: {' '.join(str(error).split())}")
        return None


def dig(value, *keys):
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return None
    return value


# --- every YAML file under deploy/ ---------------------------------------------
yaml_docs = {}
for root, dirs, files in os.walk("deploy"):
    dirs.sort()
    for name in sorted(files):
        if name.endswith((".yaml", ".yml")):
            path = os.path.join(root, name)
            docs = load_yaml(path)
            if docs is not None:
                yaml_docs[path] = docs
                if not docs:
                    problem(path, "has no YAML documents")


# --- deploy/k8s ------------------------------------------------------------------
K8S = "deploy/k8s"
kustomization_path = os.path.join(K8S, "kustomization.yaml")
objects = []  # (path, object)
if not os.path.isdir(K8S):
    problem(K8S, "is missing")
else:
    manifests = sorted(p for p in yaml_docs if os.path.dirname(p) == K8S and p != kustomization_path)
    for path in manifests:
        for index, obj in enumerate(yaml_docs[path]):
            where = f"document {index + 1}"
            if not isinstance(obj, dict):
                problem(path, f"{where} is not a mapping")
                continue
            for field in ("apiVersion", "kind"):
                if not obj.get(field):
                    problem(path, f"{where} has no {field}")
            if not dig(obj, "metadata", "name"):
                problem(path, f"{where} ({obj.get('kind', 'no kind')}) has no metadata.name")
            objects.append((path, obj))

    kustomization = yaml_docs.get(kustomization_path)
    if kustomization is None:
        if os.path.exists(kustomization_path):
            pass  # the parse error is already reported
        else:
            problem(kustomization_path, "is missing")
    else:
        k = kustomization[0] if kustomization else {}
        if not isinstance(k, dict) or k.get("kind") != "Kustomization":
            problem(kustomization_path, "is not a kind: Kustomization")
        else:
            listed = k.get("resources") or []
            for resource in listed:
                if not os.path.exists(os.path.join(K8S, resource)):
                    problem(kustomization_path, f"lists {resource}, which does not exist")
            for path in manifests:
                if os.path.basename(path) not in listed:
                    problem(kustomization_path, f"does not list {os.path.basename(path)}")
            if k.get("namespace") != "cx":
                problem(kustomization_path, "does not set namespace: cx")

    def named(kind):
        return {dig(o, "metadata", "name"): (p, o) for p, o in objects if o.get("kind") == kind}

    namespaces = named("Namespace")
    claims = named("PersistentVolumeClaim")
    k8s_services = named("Service")
    deployments = named("Deployment")
    if "cx" not in namespaces:
        problem(K8S, "has no Namespace cx")

    for service, port in SERVICES.items():
        name = f"cx-{service}"
        if name not in deployments:
            problem(K8S, f"has no Deployment {name}")
            continue
        path, deployment = deployments[name]
        what = f"Deployment {name}"
        spec = deployment.get("spec") or {}
        if spec.get("replicas") != 1:
            problem(path, f"{what}: replicas is {spec.get('replicas')!r}, not 1 (SQLite has one writer)")
        if dig(spec, "strategy", "type") != "Recreate":
            problem(path, f"{what}: strategy.type is not Recreate (SQLite has one writer)")
        pod = dig(spec, "template", "spec") or {}
        labels = dig(spec, "template", "metadata", "labels") or {}
        selector = dig(spec, "selector", "matchLabels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            problem(path, f"{what}: selector.matchLabels does not match the pod template's labels")
        volumes = {v.get("name"): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
        token_volumes = {n for n, v in volumes.items() if dig(v, "secret", "secretName") == "cx-tokens"}
        if not token_volumes:
            problem(path, f"{what}: no volume from the Secret cx-tokens")
        for volume in volumes.values():
            claim = dig(volume, "persistentVolumeClaim", "claimName")
            if claim and claim not in claims:
                problem(path, f"{what}: volume {volume.get('name')} claims {claim}, which no manifest defines")
        if not any(dig(v, "persistentVolumeClaim", "claimName") for v in volumes.values()):
            problem(path, f"{what}: no PersistentVolumeClaim volume for its data")
        containers = pod.get("containers") or []
        if not containers:
            problem(path, f"{what}: no containers")
        for container in containers:
            cname = f"{what}, container {container.get('name')}"
            command = [str(c) for c in (container.get("command") or []) + (container.get("args") or [])]
            if not command or command[0] != name:
                problem(path, f"{cname}: command does not start with {name}")
            if f"0.0.0.0:{port}" not in command:
                problem(path, f"{cname}: does not --listen 0.0.0.0:{port}")
            for probe in ("readinessProbe", "livenessProbe"):
                exec_command = dig(container, probe, "exec", "command")
                if not exec_command:
                    problem(path, f"{cname}: no {probe} (exec cxctl health)")
                elif [str(c) for c in exec_command[:3]] != ["cxctl", "health", service] \
                        or f"127.0.0.1:{port}" not in exec_command:
                    problem(path, f"{cname}: {probe} is not cxctl health {service} --addr 127.0.0.1:{port}")
                elif dig(container, probe, "timeoutSeconds") in (None, 1):
                    problem(path, f"{cname}: {probe} keeps the 1 s default timeout, too short for cxctl")
            mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or []}
            token_mounts = [mounts[v] for v in token_volumes if v in mounts]
            if token_volumes and not token_mounts:
                problem(path, f"{cname}: does not mount the cx-tokens Secret volume")
            env = {e.get("name"): e.get("value") for e in container.get("env") or [] if isinstance(e, dict)}
            tokens_file = env.get("CX_TOKENS_FILE")
            if not tokens_file:
                problem(path, f"{cname}: CX_TOKENS_FILE is not set")
            elif token_mounts and not any(tokens_file.startswith(m.rstrip("/") + "/") for m in token_mounts):
                problem(path, f"{cname}: CX_TOKENS_FILE {tokens_file} is not in the cx-tokens mount {token_mounts[0]}")
            for peer in PEERS[service]:
                address = env.get(f"CX_{peer.upper()}_ADDR")
                if address != f"{peer}:{SERVICES[peer]}":
                    problem(path, f"{cname}: CX_{peer.upper()}_ADDR is {address!r}, not {peer}:{SERVICES[peer]}")
        if service not in k8s_services:
            problem(K8S, f"has no Service {service} for {name}")
        else:
            spath, svc = k8s_services[service]
            sel = dig(svc, "spec", "selector") or {}
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                problem(spath, f"Service {service}: selector does not select the pods of {name}")
            if port not in [p.get("port") for p in dig(svc, "spec", "ports") or []]:
                problem(spath, f"Service {service}: does not expose port {port}")

    kubectl = shutil.which("kubectl")
    if kubectl and os.path.exists(kustomization_path):
        run = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True)
        if run.returncode != 0:
            problem(kustomization_path, f"kubectl kustomize fails: {' '.join(run.stderr.split())}")
        else:
            notes.append("kubectl kustomize: renders")
    else:
        notes.append("kubectl kustomize: skipped (kubectl not installed)")


# --- deploy/compose.yaml ---------------------------------------------------------
COMPOSE = "deploy/compose.yaml"
if not os.path.exists(COMPOSE):
    problem(COMPOSE, "is missing")
elif COMPOSE in yaml_docs:
    compose = yaml_docs[COMPOSE][0] if yaml_docs[COMPOSE] else {}
    services = compose.get("services") or {}
    declared_volumes = compose.get("volumes") or {}
    declared_secrets = compose.get("secrets") or {}
    volumes_used = {}
    for service, port in SERVICES.items():
        s = services.get(service)
        if not isinstance(s, dict):
            problem(COMPOSE, f"has no service {service}")
            continue
        what = f"service {service}"
        command = [str(c) for c in s.get("command") or []]
        if not command or command[0] != f"cx-{service}":
            problem(COMPOSE, f"{what}: command does not start with cx-{service}")
        if f"0.0.0.0:{port}" not in command:
            problem(COMPOSE, f"{what}: does not --listen 0.0.0.0:{port}")
        test = dig(s, "healthcheck", "test")
        test_text = " ".join(test) if isinstance(test, list) else str(test or "")
        if f"cxctl health {service}" not in test_text:
            problem(COMPOSE, f"{what}: healthcheck does not run cxctl health {service}")
        ports = [str(p) for p in s.get("ports") or []]
        if not ports:
            problem(COMPOSE, f"{what}: publishes no port")
        for p in ports:
            if not p.startswith("127.0.0.1:"):
                problem(COMPOSE, f"{what}: port {p} is not published on 127.0.0.1 only")
        if f"127.0.0.1:{port}:{port}" not in ports:
            problem(COMPOSE, f"{what}: does not publish 127.0.0.1:{port}:{port}")
        data = [str(v).split(":")[0] for v in s.get("volumes") or [] if str(v).split(":")[1:2] == ["/var/lib/cx"]]
        if not data:
            problem(COMPOSE, f"{what}: no volume on /var/lib/cx")
        for volume in data:
            if volume not in declared_volumes:
                problem(COMPOSE, f"{what}: volume {volume} is not a named volume under volumes:")
            if volume in volumes_used:
                problem(COMPOSE, f"{what}: shares volume {volume} with {volumes_used[volume]}")
            volumes_used[volume] = service
        secrets = s.get("secrets") or []
        targets = []
        for secret in secrets:
            source = secret.get("source") if isinstance(secret, dict) else secret
            target = secret.get("target", source) if isinstance(secret, dict) else secret
            if source not in declared_secrets:
                problem(COMPOSE, f"{what}: secret {source} is not declared under secrets:")
            targets.append(target if str(target).startswith("/") else f"/run/secrets/{target}")
        env = s.get("environment") or {}
        if isinstance(env, list):
            env = dict(str(e).split("=", 1) for e in env if "=" in str(e))
        if not targets:
            problem(COMPOSE, f"{what}: mounts no tokens secret")
        elif env.get("CX_TOKENS_FILE") not in targets:
            problem(COMPOSE, f"{what}: CX_TOKENS_FILE is {env.get('CX_TOKENS_FILE')!r}, not the secret's path {targets[0]}")
        for peer in PEERS[service]:
            address = str(env.get(f"CX_{peer.upper()}_ADDR") or "")
            host = address.rsplit(":", 1)[0]
            if host not in services or address != f"{host}:{SERVICES[peer]}":
                problem(COMPOSE, f"{what}: CX_{peer.upper()}_ADDR is {address!r}, not {peer}:{SERVICES[peer]}")


# --- deploy/systemd --------------------------------------------------------------
SYSTEMD = "deploy/systemd"


def parse_unit(path):
    """{section: [(key, value)]}, or None after reporting why it is not a unit file."""
    sections = {}
    current = None
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    lines = []  # (number, text) with continued lines joined
    pending, start = "", 0
    for number, line in enumerate(raw, 1):
        text = line.strip()
        if not pending and (not text or text[0] in "#;"):
            continue
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        lines.append((start, pending + text))
        pending = ""
    for number, text in lines:
        match = re.fullmatch(r"\[([A-Za-z][A-Za-z0-9-]*)\]", text)
        if match:
            current = match.group(1)
            if current in sections:
                problem(path, f"line {number}: section [{current}] appears twice")
            sections.setdefault(current, [])
            continue
        if current is None:
            problem(path, f"line {number}: setting before any [section]")
            return None
        if "=" not in text:
            problem(path, f"line {number}: not a Key=value line: {text}")
            return None
        key, value = text.split("=", 1)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()):
            problem(path, f"line {number}: {key.strip()!r} is not a setting name")
            return None
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def seconds(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|min|m)?", text or "")
    if not match:
        return None
    return float(match.group(1)) * (60 if match.group(2) in ("min", "m") else 1)


unit_files = []
if not os.path.isdir(SYSTEMD):
    problem(SYSTEMD, "is missing")
else:
    for service in SERVICES:
        path = os.path.join(SYSTEMD, f"cx-{service}.service")
        unit_files.append(path)
        if not os.path.exists(path):
            problem(path, "is missing")
            continue
        unit = parse_unit(path)
        if unit is None:
            continue
        for section in ("Unit", "Service", "Install"):
            if section not in unit:
                problem(path, f"has no [{section}] section")
        def one(section, key):
            found = values(unit, section, key)
            return found[-1] if found else None
        exec_start = one("Service", "ExecStart") or ""
        if not exec_start.startswith(f"/usr/local/bin/cx-{service}"):
            problem(path, f"ExecStart does not run /usr/local/bin/cx-{service}")
        if not (one("Service", "User") or one("Service", "DynamicUser") == "yes"):
            problem(path, "runs as root: no User= or DynamicUser=yes")
        expected = {
            "Restart": "on-failure", "KillSignal": "SIGTERM", "StateDirectory": "cx",
            "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
            "EnvironmentFile": "-/etc/cx/cx.env",
        }
        for key, want in expected.items():
            if one("Service", key) != want:
                problem(path, f"[Service] {key} is {one('Service', key)!r}, not {want}")
        if "/var/lib/cx" not in " ".join(values(unit, "Service", "ReadWritePaths")).split():
            problem(path, "[Service] ReadWritePaths does not include /var/lib/cx")
        environment = " ".join(values(unit, "Service", "Environment"))
        if "CX_TOKENS_FILE=/etc/cx/tokens" not in environment:
            problem(path, "[Service] Environment does not set CX_TOKENS_FILE=/etc/cx/tokens")
        if "--data-dir /var/lib/cx" not in exec_start and "CX_DATA_DIR=/var/lib/cx" not in environment:
            problem(path, "data dir is not /var/lib/cx (--data-dir or CX_DATA_DIR)")
        grace = re.search(r"--shutdown-grace[ =](\S+)", exec_start)
        grace_seconds = float(grace.group(1)) if grace else SHUTDOWN_GRACE_DEFAULT
        stop = seconds(one("Service", "TimeoutStopSec"))
        if stop is None or stop <= grace_seconds:
            problem(path, f"[Service] TimeoutStopSec must be more than the {grace_seconds:g} s shutdown grace")
        for key in ("Requires", "BindsTo", "Requisite"):
            if values(unit, "Unit", key):
                problem(path, f"[Unit] {key}= makes a peer mandatory; peers are reached through the outbox (use Wants=)")
        wants = " ".join(values(unit, "Unit", "Wants")).split()
        after = " ".join(values(unit, "Unit", "After")).split()
        for peer in START_AFTER[service]:
            if f"cx-{peer}.service" not in wants or f"cx-{peer}.service" not in after:
                problem(path, f"[Unit] does not Wants= and After= cx-{peer}.service")
        if "cx.target" not in " ".join(values(unit, "Install", "WantedBy")).split():
            problem(path, "[Install] WantedBy does not include cx.target")

    target = os.path.join(SYSTEMD, "cx.target")
    unit_files.append(target)
    if not os.path.exists(target):
        problem(target, "is missing")
    else:
        unit = parse_unit(target)
        if unit is not None:
            for section in ("Unit", "Install"):
                if section not in unit:
                    problem(target, f"has no [{section}] section")
            wants = " ".join(values(unit, "Unit", "Wants")).split()
            for service in SERVICES:
                if f"cx-{service}.service" not in wants:
                    problem(target, f"[Unit] Wants does not include cx-{service}.service")

    analyze = shutil.which("systemd-analyze")
    present = [p for p in unit_files if os.path.exists(p)]
    if analyze and present:
        run = subprocess.run([analyze, "verify", "--man=no", *[os.path.abspath(p) for p in present]],
                             capture_output=True, text=True)
        # The binaries are installed by hand (deploy/systemd/README.md); on a
        # machine without them that one complaint is expected.
        missing_binary = re.compile(
            r"^cx-\w+\.service: Command /usr/local/bin/cx-\w+ is not executable: No such file or directory$")
        complaints = [l for l in (run.stdout + run.stderr).splitlines() if l.strip() and not missing_binary.match(l)]
        for line in complaints:
            name = line.split(":", 1)[0]
            path = next((p for p in present if os.path.abspath(p) == name or os.path.basename(p) == name), SYSTEMD)
            problem(path, f"systemd-analyze verify: {line}")
        if run.returncode != 0 and not complaints and not any(missing_binary.match(l) for l in (run.stdout + run.stderr).splitlines()):
            problem(SYSTEMD, f"systemd-analyze verify exited {run.returncode} without saying why")
        notes.append("systemd-analyze verify: ran")
    else:
        notes.append("systemd-analyze verify: skipped (systemd-analyze not installed); units checked as INI files only")


# --- deploy/container/Containerfile ----------------------------------------------
CONTAINERFILE = "deploy/container/Containerfile"
if not os.path.exists(CONTAINERFILE):
    problem(CONTAINERFILE, "is missing")
else:
    with open(CONTAINERFILE, encoding="utf-8") as f:
        text = f.read()
    instructions = []  # (instruction, arguments), continuation lines joined
    pending = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
        if not stripped.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            instructions.append((word.upper(), rest.strip()))
            pending = ""
    stages = []  # [name, image, [(instruction, args)]]
    for instruction, args in instructions:
        if instruction == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+[Aa][Ss]\s+(\S+))?", args)
            image, name = (match.group(1), match.group(2)) if match else (args, None)
            stages.append([name, image, []])
        elif stages:
            stages[-1][2].append((instruction, args))
        else:
            problem(CONTAINERFILE, f"{instruction} before the first FROM")
    names = [s[0] for s in stages]
    if "build" not in names:
        problem(CONTAINERFILE, "has no stage named build (FROM ... AS build)")
    if not stages or stages[-1][0] != "runtime":
        problem(CONTAINERFILE, "the last stage is not named runtime (FROM ... AS runtime)")
    for name, image, body in stages:
        if name == "build" and "swift" not in image:
            problem(CONTAINERFILE, f"stage build starts from {image}, not a Swift image")
        if name == "build" and not any(i == "RUN" and "swift build -c release" in a for i, a in body):
            problem(CONTAINERFILE, "stage build does not run swift build -c release")
        if name == "build":
            runs = " ".join(a for i, a in body if i == "RUN")
            for exe in EXECUTABLES:
                if exe not in runs:
                    problem(CONTAINERFILE, f"stage build does not take {exe} out of the build")
    if stages and stages[-1][0] == "runtime":
        body = stages[-1][2]
        if not any(i == "COPY" and "--from=build" in a for i, a in body):
            problem(CONTAINERFILE, "stage runtime copies nothing from build (COPY --from=build)")
        users = [a for i, a in body if i == "USER"]
        if not users or users[-1].split(":")[0] in ("0", "root"):
            problem(CONTAINERFILE, "stage runtime runs as root: no USER with a non-root user")
        if not any(i in ("CMD", "ENTRYPOINT") for i, a in body):
            problem(CONTAINERFILE, "stage runtime has no CMD or ENTRYPOINT")
        if not any(i == "RUN" and "libsqlite3-0" in a for i, a in body):
            problem(CONTAINERFILE, "stage runtime does not install libsqlite3-0")
    ignore = CONTAINERFILE + ".dockerignore"
    if not os.path.exists(ignore):
        problem(ignore, "is missing (the build context would carry .build/)")
    else:
        with open(ignore, encoding="utf-8") as f:
            if ".build/" not in [l.strip() for l in f]:
                problem(ignore, "does not leave out .build/")


for line in problems:
    print(f"check-deploy: {line}", file=sys.stderr)
for line in notes:
    print(f"check-deploy: {line}")
if problems:
    print(f"check-deploy: {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: ok ({len(yaml_docs)} YAML files, {len(objects)} Kubernetes objects, "
      f"{len([p for p in unit_files if os.path.exists(p)])} systemd units, 1 Containerfile)")
PY
