// Counts the heap allocations of the library's ucall loops in steady state, with malloc-interposer (linked into this
// executable only, so that its interposed malloc never sits under the main benchmark's timings).
//
// Usage: kvm-harness-bench-allocations WARMUP MEASURED
//
// Prints one JSON object: the allocations of MEASURED ucalls through VCPU.nextUcall() after WARMUP ucalls on the same
// vCPU, and, for VirtualMachine.run (whose per-run setup allocates: threads, reports), the allocations of two whole
// runs with WARMUP and WARMUP + MEASURED ucalls, whose difference is what the extra ucalls cost.
import BenchmarkSupport
import Glibc
import KVMHarness
import MallocInterposerSwift

func allocations(_ body: () throws -> Void) rethrows -> (mallocs: Int, frees: Int) {
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    try body()
    MallocInterposerSwift.unhook()
    let statistics = MallocInterposerSwift.getStatistics()
    return (statistics.mallocCount, statistics.freeCount)
}

/// Fails unless the interposer sees allocations at all: otherwise "zero allocations" would mean nothing.
func checkInterposerIsActive() throws {
    let counted = allocations { tenMallocs() }
    guard counted.mallocs >= 10 else {
        throw GuestLoops.Failure("malloc-interposer counted \(counted.mallocs) of 10 mallocs: it is not interposing")
    }
}

/// Ten malloc/free pairs that the optimizer may not remove (it elides unused ones).
@_optimize(none)
func tenMallocs() {
    for _ in 0..<10 {
        let pointer = malloc(64)
        free(pointer)
    }
}

func main() throws {
    let arguments = CommandLine.arguments
    guard arguments.count == 3, let warmup = UInt64(arguments[1]), let measured = UInt64(arguments[2]),
        warmup > 0, measured > 0
    else {
        throw GuestLoops.Failure("usage: kvm-harness-bench-allocations WARMUP MEASURED")
    }
    try checkInterposerIsActive()

    // nextUcall: one VM, WARMUP ucalls uncounted, then MEASURED counted (the loop is the one from GuestLoops, but
    // driven here in two parts so that only the steady state is counted).
    let vm = try GuestLoops.makeVM(.ucallLoop, count: warmup + measured)
    let vcpu = vm.vcpus[0]
    for expected in 0..<warmup {
        guard case .sync(let arguments) = try vcpu.nextUcall(), arguments[0] == expected else {
            throw GuestLoops.Failure("warm-up ucall \(expected) was not SYNC [\(expected)]")
        }
    }
    let stepping = try allocations {
        for expected in warmup..<(warmup + measured) {
            guard case .sync(let arguments) = try vcpu.nextUcall(), arguments[0] == expected else {
                throw GuestLoops.Failure("ucall \(expected) was not SYNC [\(expected)]")
            }
        }
    }
    guard try vcpu.nextUcall() == .done else { throw GuestLoops.Failure("no DONE after the loop") }

    // VirtualMachine.run: whole runs with few and with many ucalls.
    let few = try GuestLoops.makeVM(.ucallLoop, count: warmup)
    let many = try GuestLoops.makeVM(.ucallLoop, count: warmup + measured)
    var delivered: (UInt64, UInt64) = (0, 0)
    let runFew = try allocations { delivered.0 = try GuestLoops.runAll(few, count: warmup) }
    let runMany = try allocations { delivered.1 = try GuestLoops.runAll(many, count: warmup + measured) }

    print(
        """
        {"measured_ucalls": \(measured), "next_ucall_mallocs": \(stepping.mallocs), \
        "next_ucall_frees": \(stepping.frees), "run_few_ucalls": \(delivered.0), "run_few_mallocs": \(runFew.mallocs), \
        "run_many_ucalls": \(delivered.1), "run_many_mallocs": \(runMany.mallocs)}
        """)
}

do {
    try main()
} catch {
    let message = Array("kvm-harness-bench-allocations: \(error)\n".utf8)
    _ = write(2, message, message.count)
    exit(1)
}
