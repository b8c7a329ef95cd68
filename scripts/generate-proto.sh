#!/usr/bin/env bash
# Regenerates Sources/CXModel/Generated/ from proto-spec/cx/**/*.proto:
#   - message types with protoc + protoc-gen-swift (swift-protobuf 1.39.0),
#   - method descriptors for every `rpc`, and a fingerprint of the .proto files
#     that CXModelTests compares, so a .proto edited without regenerating fails
#     the tests.
# Needs: protoc (Debian's protobuf-compiler), python3 with the protobuf package.
# protoc-gen-swift is built once from the swift-protobuf package and cached.
#   scripts/generate-proto.sh           regenerate
#   scripts/generate-proto.sh --check   regenerate into a temp dir and fail on any difference
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SWIFT_PROTOBUF_VERSION=1.39.0
tools="${CX_TOOLS_DIR:-$HOME/.cache/cx-tools}"
plugin="$tools/swift-protobuf-$SWIFT_PROTOBUF_VERSION/.build/release/protoc-gen-swift"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need protoc; then
  echo "generate-proto: installing protobuf-compiler" >&2
  apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
fi
if ! python3 -c 'import google.protobuf' 2>/dev/null; then
  echo "generate-proto: installing the python protobuf package" >&2
  pip install -q protobuf
fi
if [ ! -x "$plugin" ]; then
  echo "generate-proto: building protoc-gen-swift $SWIFT_PROTOBUF_VERSION (about 2 minutes, once)" >&2
  mkdir -p "$tools"
  src="$tools/swift-protobuf-$SWIFT_PROTOBUF_VERSION"
  [ -d "$src" ] || git clone -q https://github.com/apple/swift-protobuf.git "$src"
  git -C "$src" checkout -q "$SWIFT_PROTOBUF_VERSION"
  (cd "$src" && swift build -c release --product protoc-gen-swift >/dev/null)
fi

out="$root/Sources/CXModel/Generated"
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  out=$(mktemp -d)
fi
mkdir -p "$out"
protos=$(cd proto-spec && find cx -name '*.proto' | LC_ALL=C sort)

if [ $check = 0 ]; then rm -f "$out"/*.pb.swift "$out"/*.generated.swift; fi
(cd proto-spec && protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  $protos)
descriptors=$(mktemp)
(cd proto-spec && protoc --include_source_info --descriptor_set_out="$descriptors" $protos)
python3 scripts/generate_methods.py "$descriptors" proto-spec $protos > "$out/Methods.generated.swift"
rm -f "$descriptors"

if [ $check = 1 ]; then
  if diff -ru "$out" "$root/Sources/CXModel/Generated"; then
    echo "generate-proto: generated code is up to date"
  else
    echo "generate-proto: Sources/CXModel/Generated differs from proto-spec; run scripts/generate-proto.sh" >&2
    exit 1
  fi
  rm -rf "$out"
else
  echo "generate-proto: wrote $(ls "$out" | wc -l) files to ${out#"$root"/}"
fi
