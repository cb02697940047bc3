/// A target from the issue: a bound on a ratio or a value.
struct Target: Sendable {
    enum Bound: Sendable {
        case atMost(Double)
        case atLeast(Double)
    }

    var bound: Bound
    /// How the bound reads in the table: "<= 1.03x", "<= 0.5 us", "0".
    var text: String

    func isMet(by value: Double) -> Bool {
        switch bound {
        case .atMost(let limit): return value <= limit
        case .atLeast(let limit): return value >= limit
        }
    }
}

/// Whether a row meets its target.
enum Status: Sendable, Equatable {
    case met
    case missed
    /// The row has no target: it explains another row, or the issue asks for it without a bound.
    case info
    /// It could not be measured here, and why.
    case notMeasured(String)

    var text: String {
        switch self {
        case .met: return "met"
        case .missed: return "MISSED"
        case .info: return "-"
        case .notMeasured: return "not measured"
        }
    }
}

/// One line of the results table: the measured number (usually the library's), the baseline's, what the target is
/// checked against (usually their ratio), and the target.
struct Row: Sendable {
    var section: String
    var name: String
    var unit: String
    /// The library's (or the project's) value.
    var library: Double?
    /// The baseline's: raw C, the hand-written minimum, or the library for the CLI row.
    var baseline: Double?
    /// What `target` is checked against: usually library / baseline, or the library's value itself.
    var compared: Double?
    var comparedText: String?
    var target: Target?
    var status: Status
    /// Spread or other detail, e.g. "p10-p90 1.2-1.4".
    var detail: String = ""
    /// Numbers behind the row (samples, parameters), for the JSON file.
    var data: [(String, JSON)] = []
    /// Whether 0 is a possible value (allocation counts; user CPU in a run shorter than a few clock ticks).
    var mayBeZero = false
    /// Whether a negative value is possible (a difference of two noisy measurements).
    var mayBeNegative = false

    /// The row, marked as allowed to be zero.
    func allowingZero() -> Row {
        var copy = self
        copy.mayBeZero = true
        return copy
    }

    /// The row, marked as allowed to be negative.
    func allowingNegative() -> Row {
        var copy = self
        copy.mayBeZero = true
        copy.mayBeNegative = true
        return copy
    }

    /// A row with a target checked against `compared`.
    static func checked(
        _ section: String, _ name: String, unit: String, library: Double?, baseline: Double?, compared: Double?,
        comparedText: String, target: Target, detail: String = "", data: [(String, JSON)] = []
    ) -> Row {
        let status: Status
        if let compared, compared.isFinite { status = target.isMet(by: compared) ? .met : .missed } else {
            status = .notMeasured("no value")
        }
        return Row(
            section: section, name: name, unit: unit, library: library, baseline: baseline, compared: compared,
            comparedText: comparedText, target: target, status: status, detail: detail, data: data)
    }

    /// A row without a target.
    static func info(
        _ section: String, _ name: String, unit: String, library: Double?, baseline: Double? = nil,
        ratio: Double? = nil, detail: String = "", data: [(String, JSON)] = []
    ) -> Row {
        Row(
            section: section, name: name, unit: unit, library: library, baseline: baseline, compared: ratio,
            comparedText: ratio.map { Format.ratio($0) }, target: nil, status: .info, detail: detail, data: data)
    }

    /// A row that could not be measured.
    static func notMeasured(_ section: String, _ name: String, target: Target?, reason: String) -> Row {
        Row(
            section: section, name: name, unit: "", library: nil, baseline: nil, compared: nil, comparedText: nil,
            target: target, status: .notMeasured(reason), detail: reason)
    }

    var json: JSON {
        var members: [(String, JSON)] = [
            ("section", .string(section)), ("name", .string(name)), ("unit", .string(unit)),
            ("measured", .optional(library)), ("baseline", .optional(baseline)), ("compared", .optional(compared)),
            ("target", target.map { .string($0.text) } ?? .null),
        ]
        switch status {
        case .met: members.append(("status", .string("met")))
        case .missed: members.append(("status", .string("missed")))
        case .info: members.append(("status", .string("info")))
        case .notMeasured(let reason):
            members.append(("status", .string("not measured")))
            members.append(("reason", .string(reason)))
        }
        if !detail.isEmpty { members.append(("detail", .string(detail))) }
        if !data.isEmpty { members.append(("data", .object(data))) }
        return .object(members)
    }
}

/// Number formatting for the table.
enum Format {
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (abs(value) * scale).rounded() / scale
        let whole = Int64(rounded)
        var text = (value < 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(Int64(((rounded - Double(whole)) * scale).rounded()))
            text += "." + String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        }
        return text
    }

    /// Three significant digits, at most three decimals: 12345 -> "12345", 12.345 -> "12.3", 0.01234 -> "0.012".
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let magnitude = abs(value)
        if magnitude >= 100 || value == value.rounded() && magnitude < 1e15 { return fixed(value, 0) }
        if magnitude >= 10 { return fixed(value, 1) }
        if magnitude >= 1 { return fixed(value, 2) }
        return fixed(value, 3)
    }

    static func ratio(_ value: Double) -> String { value.isFinite ? fixed(value, 3) + "x" : "-" }
}

/// Prints rows as an aligned table, a header line per section.
enum Table {
    static func render(_ rows: [Row]) -> String {
        let header = ["measurement", "unit", "measured", "baseline", "compared", "target", "status", "detail"]
        var lines: [[String]] = []
        var sections: [Int: String] = [:]
        for row in rows {
            if sections.values.contains(row.section) == false { sections[lines.count] = row.section }
            lines.append([
                row.name, row.unit, row.library.map(Format.number) ?? "-", row.baseline.map(Format.number) ?? "-",
                row.comparedText ?? "-", row.target?.text ?? "-", row.status.text, row.detail,
            ])
        }
        var widths = header.map(\.count)
        for line in lines {
            for (i, cell) in line.enumerated() where i < header.count - 1 { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            var text = ""
            for (i, cell) in cells.enumerated() {
                if i == cells.count - 1 {
                    text += cell
                } else if i >= 2 && i <= 4 {
                    text += String(repeating: " ", count: widths[i] - cell.count) + cell + "  "
                } else {
                    text += cell + String(repeating: " ", count: widths[i] - cell.count) + "  "
                }
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var output = [format(header), String(repeating: "-", count: widths.dropLast().reduce(0, +) + 2 * 7 + 6)]
        for (index, line) in lines.enumerated() {
            if let section = sections[index] { output.append("[\(section)]") }
            output.append(format(line))
        }
        return output.joined(separator: "\n")
    }

    /// The table as Markdown, for BENCHMARKS.md.
    static func markdown(_ rows: [Row]) -> String {
        var output = [
            "| section | measurement | unit | measured | baseline | compared | target | status | detail |",
            "| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- |",
        ]
        for row in rows {
            let cells = [
                row.section, row.name, row.unit, row.library.map(Format.number) ?? "-",
                row.baseline.map(Format.number) ?? "-", row.comparedText ?? "-", row.target?.text ?? "-",
                row.status == .missed ? "**missed**" : row.status.text, row.detail,
            ]
            output.append("| " + cells.map { $0.replacingOccurrences(of: "|", with: "/") }.joined(separator: " | ") + " |")
        }
        return output.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
