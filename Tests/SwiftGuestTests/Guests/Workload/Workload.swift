// Ordinary Swift, built twice: into the Workload guest image (with main.swift) and into the host test target,
// where SwiftGuestRunTests.workloadMatchesHost runs the same function and compares. It uses what a guest test is
// likely to: arrays of structs and sorting, Dictionary and Set (whose sizing uses Double, so the soft-float
// routines run), String splitting, comparison and interpolation, checked 64-bit arithmetic, and Double math.

/// One record of the workload's table.
struct Sample {
    var name: String
    var key: UInt64
    var weight: Int
}

/// What the workload computes: values for SYNCs and one line of text.
struct WorkloadResult {
    var values: [UInt64]
    var summary: String
}

/// A small deterministic generator (xorshift64), the same on host and guest.
struct Xorshift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

func runWorkload() -> WorkloadResult {
    var random = Xorshift(state: 0x1234_5678_9abc_def0)
    let words = "alpha beta gamma delta alpha epsilon beta alpha zeta eta theta gamma alpha".split(separator: " ")

    // Arrays of structs, sorted two ways.
    var samples: [Sample] = []
    for index in 0..<200 {
        let word = words[index % words.count]
        samples.append(Sample(name: "\(String(word))-\(index)", key: random.next() % 10_000, weight: index * 7 - 300))
    }
    let byKey = samples.sorted { $0.key < $1.key || ($0.key == $1.key && $0.name < $1.name) }
    let byName = samples.sorted { $0.name < $1.name }
    var keyChecksum: UInt64 = 0
    for (position, sample) in byKey.enumerated() { keyChecksum = keyChecksum &* 31 &+ sample.key &+ UInt64(position) }

    // Dictionary and Set: word counts, distinct keys.
    var counts: [Substring: Int] = [:]
    for word in words { counts[word, default: 0] += 1 }
    var distinctKeys = Set<UInt64>()
    for sample in samples { distinctKeys.insert(sample.key / 100) }
    let countsText = counts.keys.sorted().map { "\(String($0))=\(counts[$0]!)" }.joined(separator: ",")

    // Double arithmetic (soft float in the guest), checked against the host's FPU by equality of the results.
    var total = 0.0
    for sample in samples { total += Double(sample.weight) / 3.0 }
    let mean = total / Double(samples.count)
    let scaledMean = Int((mean * 1000).rounded(.up))

    let weightSum = samples.reduce(0) { $0 + $1.weight }
    let summary = "first \(byName.first!.name) last \(byName.last!.name) counts \(countsText) "
        + "distinct \(distinctKeys.count) mean*1000 \(scaledMean)"
    return WorkloadResult(
        values: [keyChecksum, UInt64(counts.count), UInt64(distinctKeys.count), UInt64(bitPattern: Int64(weightSum)),
                 UInt64(bitPattern: Int64(scaledMean)), byKey.first!.key, byKey.last!.key],
        summary: summary)
}
