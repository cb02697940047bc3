/// Heap allocations per ucall in steady state, counted by kvm-harness-bench-allocations (malloc-interposer) in a
/// child process.
struct Allocations {
    var tool: String
    var warmup: UInt64
    var measured: UInt64
    var directory: String

    static let section = "host overhead per ucall"

    func measure() throws -> [Row] {
        let target = Target(bound: .atMost(0), text: "0")
        guard Subprocess.exists(tool) else {
            return [
                .notMeasured(Self.section, "heap allocations per ucall", target: target, reason: "\(tool) not built")
            ]
        }
        let result = try Subprocess.run(tool, [String(warmup), String(measured)], directory: directory)
        guard result.status == 0 else {
            throw Subprocess.Failure(
                description: "kvm-harness-bench-allocations exited \(result.status): \(result.standardError)")
        }
        let values = FlatJSON.numbers(result.standardOutput)
        guard let stepping = values["next_ucall_mallocs"], let few = values["run_few_mallocs"],
            let many = values["run_many_mallocs"], let fewUcalls = values["run_few_ucalls"],
            let manyUcalls = values["run_many_ucalls"], manyUcalls > fewUcalls
        else {
            throw Subprocess.Failure(description: "kvm-harness-bench-allocations printed \(result.standardOutput)")
        }
        let perUcall = stepping / Double(measured)
        // A run allocates a fixed amount (its threads, its reports); what the extra ucalls add is the difference,
        // which a one-time initialization in the first run can make negative: that is no allocation per ucall.
        let runPerUcall = max(many - few, 0) / (manyUcalls - fewUcalls)
        let data: [(String, JSON)] = values.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) }
        return [
            .checked(
                Self.section, "heap allocations per ucall, nextUcall loop (steady state)", unit: "mallocs",
                library: perUcall, baseline: nil, compared: perUcall, comparedText: Format.number(perUcall),
                target: target,
                detail: "\(Int(stepping)) mallocs in \(measured) ucalls after \(warmup) warm-up", data: data
            ).allowingZero(),
            .checked(
                Self.section, "heap allocations per ucall, VirtualMachine.run", unit: "mallocs",
                library: runPerUcall, baseline: nil, compared: runPerUcall, comparedText: Format.number(runPerUcall),
                target: target,
                detail: "runs of \(Int(fewUcalls)) and \(Int(manyUcalls)) ucalls: \(Int(few)) and \(Int(many)) mallocs"
            ).allowingZero(),
        ]
    }
}

/// Reads the numbers of a flat JSON object such as {"a": 1, "b": 2.5}: enough for the child processes' output.
enum FlatJSON {
    static func numbers(_ text: String) -> [String: Double] {
        var result: [String: Double] = [:]
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "\"") {
            rest = rest[rest.index(after: open)...]
            guard let close = rest.firstIndex(of: "\"") else { break }
            let key = String(rest[..<close])
            rest = rest[rest.index(after: close)...]
            guard let colon = rest.firstIndex(of: ":") else { break }
            let value = rest[rest.index(after: colon)...].prefix { $0 != "," && $0 != "}" }
            if let number = Double(value.trimmingCharacters()) { result[key] = number }
            rest = rest[rest.index(after: colon)...]
        }
        return result
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
