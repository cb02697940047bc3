import Glibc

/// Clocks and counters of the benchmark process.
enum Measure {
    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// User-space CPU time of the whole process so far (getrusage RUSAGE_SELF, every thread), in nanoseconds.
    static func userCPU() -> UInt64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return UInt64(usage.ru_utime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_utime.tv_usec) * 1_000
    }

    /// The resident set size of the process, in bytes (the second field of /proc/self/statm, in pages).
    static func residentBytes() -> UInt64 {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        // SAFETY: fgets NUL-terminates what it read inside the buffer, which stays alive for the call.
        let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The one-minute load average, to show in the results how busy the machine was.
    static func loadAverage() -> Double {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? loads[0] : -1
    }
}

/// Median and spread of a set of samples.
struct Summary: Sendable {
    /// The samples, sorted.
    let sorted: [Double]

    init(_ samples: [Double]) { sorted = samples.sorted() }

    /// The value at quantile `q` (0...1), by linear interpolation between the nearest samples.
    func quantile(_ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    var median: Double { quantile(0.5) }
    var p10: Double { quantile(0.1) }
    var p90: Double { quantile(0.9) }
    var min: Double { sorted.first ?? .nan }
    var max: Double { sorted.last ?? .nan }
    var count: Int { sorted.count }

    /// The summary as JSON.
    var json: JSON {
        .object([
            ("count", .number(Double(count))), ("median", .number(median)), ("p10", .number(p10)),
            ("p90", .number(p90)), ("min", .number(min)), ("max", .number(max)),
        ])
    }
}
