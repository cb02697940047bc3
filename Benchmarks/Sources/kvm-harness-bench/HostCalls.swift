import BenchmarkGuests
import BenchmarkSupport
import KVMHarness

/// Host calls (ucalls the host answers) beside the plain GUEST_SYNC, one vCPU driven with `nextUcall()`; and ucall
/// throughput with 1, 2, 8 and 64 vCPUs on their own threads (`VirtualMachine.run`).
struct HostCallCost {
    var count: UInt64
    var rounds: Int
    var throughputUcalls: UInt64
    var vcpuCounts: [Int] = [1, 2, 8, 64]

    static let section = "replies"

    func measure(log: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        var sync: [Double] = []
        var answer: [Double] = []
        var buffer: [Double] = []
        // Interleaved, so that whatever else the machine does lands on all three alike.
        for _ in 0..<rounds {
            sync.append(try perCall(GuestFunction(bench_guest_sync_loop), expectedStage: nil))
            answer.append(try perCall(GuestFunction(bench_host_call_loop), expectedStage: count))
            buffer.append(try perCall(GuestFunction(bench_host_call_buffer_loop), expectedStage: count & 0xff))
        }
        let base = Summary(sync)
        rows.append(
            .info(Self.section, "GUEST_SYNC (the plain ucall)", unit: "us", library: base.median,
                  detail: "\(count) per run, \(rounds) runs, p10-p90 \(Format.number(base.p10))-"
                    + Format.number(base.p90),
                  data: [("us", base.json)]))
        for (name, samples) in [
            ("host call answering 8 bytes (GUEST_CALL_HOST)", answer),
            ("host call with 1 KiB copied each way (GUEST_CALL_HOST_BUFFER)", buffer),
        ] {
            let summary = Summary(samples)
            rows.append(
                .info(Self.section, name, unit: "us", library: summary.median, baseline: base.median,
                      ratio: summary.median / base.median,
                      detail: "baseline: GUEST_SYNC in the same runs; p10-p90 \(Format.number(summary.p10))-"
                        + "\(Format.number(summary.p90))",
                      data: [("us", summary.json)]))
        }
        log("replies: round trips done")

        for vcpus in vcpuCounts {
            let perVCPU = max(throughputUcalls / UInt64(vcpus), 1)
            var rates: [Double] = []
            for _ in 0..<max(1, rounds / 3) {
                let vm = try GuestLoops.makeVM(.ucallLoop, count: perVCPU, vcpus: vcpus)
                let start = Measure.now()
                let delivered = try GuestLoops.runAll(vm, count: perVCPU)
                rates.append(Double(delivered) / (Double(Measure.now() - start) / 1e9))
            }
            let summary = Summary(rates)
            rows.append(
                .info(Self.section, "ucall rate, \(vcpus) vCPU\(vcpus == 1 ? "" : "s")", unit: "ucalls/s",
                      library: summary.median,
                      detail: "\(perVCPU) ucalls per vCPU, each vCPU on its own thread; min "
                        + Format.number(summary.min),
                      data: [("rates", summary.json)]))
        }
        log("replies: vCPU rates done")
        return rows
    }

    /// Microseconds per call of `entry` making `count` calls, driven with `nextUcall()` (VM set-up not timed).
    private func perCall(_ entry: GuestFunction, expectedStage: UInt64?) throws -> Double {
        let vm = try VirtualMachine(entry: entry, arguments: [count])
        vm.answerHostCalls(UInt64(BENCH_HOST_CALL_ANSWER)) { call in call.arguments[0] &+= 1 }
        vm.answerHostCalls(UInt64(BENCH_HOST_CALL_BUFFER_COMMAND)) { call in call.buffer[0] &+= 1 }
        let vcpu = vm.vcpus[0]
        let start = Measure.now()
        var calls: UInt64 = 0
        while true {
            switch try vcpu.nextUcall() {
            case .hostCall: calls += 1
            case .sync(let arguments) where expectedStage == nil: calls += 1; _ = arguments
            case .sync(let arguments):
                guard arguments[0] == expectedStage! else {
                    throw GuestLoops.Failure("the guest's last answer was \(arguments[0]), expected \(expectedStage!)")
                }
            case .done:
                let elapsed = Measure.now() - start
                guard calls == count else { throw GuestLoops.Failure("\(calls) calls, expected \(count)") }
                return Double(elapsed) / 1000 / Double(calls)
            case let other:
                throw GuestLoops.Failure("unexpected ucall \(other)")
            }
        }
    }
}
