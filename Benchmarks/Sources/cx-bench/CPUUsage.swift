import Foundation

/// CPU time used by this process and by the whole machine, from /proc (Linux;
/// nil elsewhere): over a run, how many cores the benchmark kept busy and how
/// many went to other processes (or were stolen by the hypervisor), which on
/// a small shared machine says whether a figure can be trusted.
struct CPUUsage {
    var processTicks: Double
    var busyTicks: Double
    var time: UInt64

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func sample() -> CPUUsage? {
        guard let own = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let all = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let close = own.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, utime 14, stime 15.
        let fields = own[own.index(after: close)...].split(separator: " ")
        // "cpu  user nice system idle iowait irq softirq steal ...", in ticks.
        let cpu = all.prefix { $0 != "\n" }.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), cpu.count >= 8 else { return nil }
        let busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]
        return CPUUsage(processTicks: user + system, busyTicks: busy, time: now())
    }

    /// Cores used from `start` to `self`: by this process, and by the rest.
    func cores(since start: CPUUsage) -> (process: Double, others: Double) {
        let seconds = Double(time - start.time) / 1e9
        guard seconds > 0 else { return (0, 0) }
        let process = (processTicks - start.processTicks) / Self.ticksPerSecond / seconds
        let busy = (busyTicks - start.busyTicks) / Self.ticksPerSecond / seconds
        return (process, max(0, busy - process))
    }
}
