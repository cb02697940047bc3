import KVMHarness
/// The exit-reason reference `kvm-harness exits` prints: every `KVM_EXIT_*` with its number, name, meaning and
/// usual causes, or one of them in full. Pure text over `ExitReason`.
package enum ExitReasonReference {
    /// The reason an argument names: a number (decimal, or hex with 0x) or a name with or without `KVM_EXIT_`, in
    /// any case. Nil unless the reason is one this library knows.
    package static func lookup(_ argument: String) -> ExitReason? {
        let trimmed = argument.filter { !$0.isWhitespace }
        let number: UInt32?
        if trimmed.lowercased().hasPrefix("0x") {
            number = UInt32(trimmed.dropFirst(2), radix: 16)
        } else {
            number = UInt32(trimmed)
        }
        if let number {
            let reason = ExitReason(rawValue: number)
            return reason.isKnown ? reason : nil
        }
        guard let reason = ExitReason(name: trimmed), reason.isKnown else { return nil }
        return reason
    }

    /// The message for an argument that names no known reason.
    package static func unknownMessage(_ argument: String) -> String {
        let last = ExitReason.all.last.map { "\($0.rawValue)" } ?? "?"
        return "'\(argument)' is not a KVM exit reason this tool knows: give a number from 0 to \(last) or a name "
            + "such as SHUTDOWN or KVM_EXIT_MMIO (kvm-harness exits lists them all)"
    }

    /// Every reason: number and name on the first line, then the meaning and the usual causes, wrapped at `width`.
    package static func table(width: Int = 100) -> String {
        let indent = 24
        var lines = ["  #  NAME                 MEANING, then USUAL CAUSES"]
        for reason in ExitReason.all {
            let number = String(reason.rawValue)
            let head = String(repeating: " ", count: 3 - number.count) + number + "  " + reason.name
            let meaning = wrap(reason.meaning, width: width - indent)
            let causes = wrap("Usual causes: " + reason.usualCauses, width: width - indent)
            let pad = String(repeating: " ", count: indent)
            for (index, line) in (meaning + causes).enumerated() {
                if index == 0 {
                    let gap = max(1, indent - head.count)
                    lines.append(head + String(repeating: " ", count: gap) + line)
                } else {
                    lines.append(pad + line)
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One reason in full: `KVM_EXIT_NAME (n)`, what it means, what usually causes it.
    package static func explain(_ reason: ExitReason, width: Int = 100) -> String {
        var lines = ["KVM_EXIT_\(reason.name) (\(reason.rawValue))", "", "What it means:"]
        lines += wrap(reason.meaning, width: width - 2).map { "  " + $0 }
        lines += ["", "What usually causes it:"]
        lines += wrap(reason.usualCauses, width: width - 2).map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    /// One reason as a JSON object: number, name, meaning, causes.
    package static func json(_ reason: ExitReason) -> JSONObject {
        [
            "number": .unsigned(UInt64(reason.rawValue)), "name": .string(reason.name),
            "meaning": .string(reason.meaning), "causes": .string(reason.usualCauses),
        ]
    }

    /// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a line of its own).
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if line.isEmpty {
                line = String(word)
            } else if line.count + 1 + word.count <= width {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
