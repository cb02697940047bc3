import BenchmarkGuests
import KVMHarness

/// The guest code the benchmarks run, and the loops that drive it through the library's public API.
public enum GuestLoops {
    /// A guest that the benchmarks run: one of the loops in BenchmarkGuests.
    public enum Guest: String, Sendable, CaseIterable {
        /// `bench_ucall_loop`: hand-written, cmd and the zero args set once, 5 instructions per ucall.
        case ucallLoop = "ucall-loop"
        /// `bench_sync_minimum`: hand-written, every ucall built in full (8 stores and the exit).
        case syncMinimum = "sync-minimum"
        /// `bench_guest_sync_loop`: GUEST_SYNC(i) in C on the project's guest runtime.
        case guestSync = "guest-sync"

        /// The function's address, which is also its guest-virtual address (in-process guest code).
        public var entry: GuestFunction {
            switch self {
            case .ucallLoop: return GuestFunction(bench_ucall_loop)
            case .syncMinimum: return GuestFunction(bench_sync_minimum)
            case .guestSync: return GuestFunction(bench_guest_sync_loop)
            }
        }
    }

    /// How a ucall reaches the host.
    public enum Transport: String, Sendable, CaseIterable {
        /// An 8-byte store to the ucall MMIO address.
        case mmio = "MMIO"
        /// An IN from port 0x1000.
        case pio = "PIO"
    }

    /// The hand-written guest code as bytes (both loops, position independent), for the raw-KVM baseline.
    public static var codeBytes: UnsafeRawBufferPointer {
        let start = bench_guest_code_start_address()!
        let end = bench_guest_code_end_address()!
        // SAFETY: both labels are in the same .text section of this binary, start before end; it stays mapped.
        return UnsafeRawBufferPointer(start: start, count: end - start)
    }

    /// The offset of a hand-written loop's entry point in `codeBytes`.
    public static func codeOffset(of guest: Guest) -> UInt64 {
        precondition(guest != .guestSync, "the C loop is not part of the hand-written code")
        return guest.entry.address - UInt64(UInt(bitPattern: bench_guest_code_start_address()!))
    }

    /// A VM running `guest` with `count` ucalls on each of `vcpus` vCPUs, built with the public API: the VM first,
    /// then vCPUs whose arguments carry the ucall address.
    public static func makeVM(
        _ guest: Guest, count: UInt64, transport: Transport = .mmio, vcpus: Int = 1,
        memorySize: UInt64 = VirtualMachine.Configuration.defaultMemorySize
    ) throws(KVMError) -> VirtualMachine {
        let vm = try VirtualMachine(configuration: VirtualMachine.Configuration(memorySize: memorySize))
        for _ in 0..<vcpus { try addVCPU(guest, count: count, transport: transport, to: vm) }
        return vm
    }

    /// Adds a vCPU that runs `guest` with `count` ucalls.
    @discardableResult
    public static func addVCPU(_ guest: Guest, count: UInt64, transport: Transport, to vm: VirtualMachine)
        throws(KVMError) -> VCPU
    {
        switch guest {
        case .ucallLoop:
            return try vm.addVCPU(entry: guest.entry, arguments: [count, transport == .mmio ? vm.ucallAddress : 0])
        case .syncMinimum:
            precondition(transport == .mmio, "bench_sync_minimum is MMIO only")
            return try vm.addVCPU(entry: guest.entry, arguments: [count, vm.ucallAddress])
        case .guestSync:
            precondition(transport == .mmio, "GUEST_SYNC uses the MMIO transport")
            return try vm.addVCPU(entry: guest.entry, arguments: [count])
        }
    }

    /// What went wrong in a benchmark loop.
    public struct Failure: Error, CustomStringConvertible {
        /// One line.
        public var description: String
        /// A failure with this message.
        public init(_ description: String) { self.description = description }
    }

    /// Drives one vCPU with `nextUcall()` until DONE, checking that it sends SYNC [i] for i = 0 ..< count first.
    ///
    /// - Returns: the number of ucalls, DONE included (count + 1).
    @discardableResult
    public static func driveWithNextUcall(_ vcpu: VCPU, count: UInt64) throws -> UInt64 {
        var expected: UInt64 = 0
        while true {
            let ucall = try vcpu.nextUcall()
            switch ucall {
            case .sync(let arguments) where arguments[0] == expected && expected < count:
                expected &+= 1
            case .done where expected == count:
                return count + 1
            default:
                throw Failure("ucall \(expected) was \(ucall), expected SYNC [\(expected)] or DONE after \(count)")
            }
        }
    }

    /// Runs every vCPU with `VirtualMachine.run` (a thread per vCPU, ucalls not recorded) and checks that each sent
    /// `count` ucalls and DONE.
    ///
    /// - Returns: the number of ucalls of all vCPUs, DONE included.
    @discardableResult
    public static func runAll(_ vm: VirtualMachine, count: UInt64) throws -> UInt64 {
        let report = vm.run(RunOptions(deadline: .seconds(3600), recordsUcalls: false))
        var total: UInt64 = 0
        for vcpu in report.vcpus {
            guard vcpu.outcome == .done, vcpu.ucallCount == Int(count) + 1 else {
                throw Failure("vCPU \(vcpu.index) ended \(vcpu.outcome) after \(vcpu.ucallCount) ucalls")
            }
            total += UInt64(vcpu.ucallCount)
        }
        return total
    }
}
