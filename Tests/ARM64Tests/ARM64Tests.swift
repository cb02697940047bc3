// The arm64 guest tests: run inside the emulated arm64 KVM host by scripts/arm64.sh, or on any arm64 Linux host
// with KVM (`swift run kvm-harness-arm64-tests`). An executable with its own small runner rather than an XCTest or
// Swift Testing target, because the arm64 standard library this project cross-builds with (Debian's, see
// scripts/arm64.sh) has neither XCTest nor a Swift Testing runner that links statically.
//
// Output: one line per test ("ok N - name", "not ok N - name: why", "ok N - name # SKIP requires ..."), then
// "arm64 tests: N passed, N failed, N skipped". Exit status 1 if any test failed.
#if arch(arm64)
import ARM64TestGuests
import Glibc
import KVMHarness

/// Why a test failed: one line.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// A test that cannot run on this host, naming the missing capability.
struct TestSkip: Error {
    var reason: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw TestFailure(description: message()) }
}

func expectUcall(_ vcpu: VCPU, _ expected: Ucall) throws {
    let ucall = try vcpu.nextUcall(timeout: .seconds(30))
    try expect(ucall == expected, "expected \(expected), got \(ucall)")
}

/// A VM running `entry` on one vCPU, with `configuration`.
func guestVM(_ entry: GuestFunction, arguments: [UInt64] = [], configuration: VirtualMachine.Configuration = .init())
    throws -> (VirtualMachine, VCPU)
{
    let vm = try VirtualMachine(entry: entry, arguments: arguments, configuration: configuration)
    return (vm, vm.vcpus[0])
}

let tests: [(name: String, run: @Sendable () throws -> Void)] = [
    ("the guest runs at EL1 with the MMU on", {
        let (_, vcpu) = try guestVM(GuestFunction(a64_guest_el_and_mmu))
        try expectUcall(vcpu, .sync([7, 1, 1]))
        try expectUcall(vcpu, .done)
    }),
    ("a SYNC sequence with arguments, then DONE", {
        let (_, vcpu) = try guestVM(GuestFunction(a64_guest_sync_sequence), arguments: [0x1234_5678_9abc_def0])
        try expectUcall(vcpu, .sync([1, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666]))
        try expectUcall(vcpu, .sync([2, 0x1234_5678_9abc_def0, 0x1234_5678_9abc_def1]))
        try expectUcall(vcpu, .sync([3]))
        try expectUcall(vcpu, .done)
    }),
    ("a failed assertion is reported at the guest's file and line", {
        let (_, vcpu) = try guestVM(GuestFunction(a64_guest_assert), arguments: [5])
        let ucall = try vcpu.nextUcall(timeout: .seconds(30))
        guard case .abort(let assertion) = ucall else { throw TestFailure(description: "expected ABORT, got \(ucall)") }
        try expect(assertion.file?.hasSuffix("ARM64TestGuests/guests.c") == true, "file \(assertion)")
        try expect(assertion.line == UInt64(a64_guest_assert_line()), "line \(assertion.line), expected \(a64_guest_assert_line())")
        try expect(assertion.expression == "value == 2", "expression in \(assertion)")
        try expect(assertion.message.contains("5"), "the message names the value 5: \(assertion)")
    }),
    ("PRINTF text reaches the host", {
        let (_, vcpu) = try guestVM(GuestFunction(a64_guest_printf))
        try expectUcall(vcpu, .printf("hello from arm64 EL1, value c0ffee"))
        try expectUcall(vcpu, .done)
    }),
    ("an unhandled exception is reported with ESR, FAR and ELR", {
        let address: UInt64 = 0x7_0000_0008
        let function = GuestFunction(a64_guest_unmapped_load)
        let (_, vcpu) = try guestVM(function, arguments: [address])
        let ucall = try vcpu.nextUcall(timeout: .seconds(30))
        guard case .unhandled(let exception) = ucall else {
            throw TestFailure(description: "expected UNHANDLED, got \(ucall)")
        }
        // Vector-table entry 0: synchronous, from the current EL while it used SP_EL0 (the guest runs in EL1t).
        try expect(exception.vector == 0, "vector entry \(exception.vector): \(exception)")
        try expect(exception.esr >> 26 == 0x25, "ESR \(hex(exception.esr)) is not a data abort from EL1 (EC 0x25)")
        try expect(exception.esr & (1 << 6) == 0, "ESR \(hex(exception.esr)) says write; it was a load")
        try expect(exception.far == address, "FAR \(hex(exception.far)), expected \(hex(address))")
        try expect(
            exception.elr >= function.address && exception.elr < function.address + 64,
            "ELR \(hex(exception.elr)) is not inside a64_guest_unmapped_load at \(hex(function.address))")
        try expect(
            ExceptionSyndrome(rawValue: exception.esr).exceptionClass == .dataAbortSameEL,
            "ESR \(hex(exception.esr)) decodes as \(ExceptionSyndrome(rawValue: exception.esr))")
        print("# \(exception)")
    }),
    ("a ucall struct straddling two pages that are not physically contiguous", {
        let vm = try VirtualMachine(entry: GuestFunction(a64_guest_ucall_at), arguments: [0])
        let base: UInt64 = 0x3000_0000_0000
        let first = try vm.allocate(gva: base, size: 4096)
        _ = try vm.allocate(gva: base + 0x10_0000, size: 4096)  // takes the physical page after `first`
        let second = try vm.allocate(gva: base + 4096, size: 4096)
        try expect(second != first + 4096, "the two pages are physically contiguous (\(hex(first)), \(hex(second)))")
        try expect(vm.translate(base + 4096) == vm.translate(base + 4096), "translation is stable")
        guard case .mapped(let gpa, _, _, _) = vm.translate(base + 4096), gpa == second else {
            throw TestFailure(description: "GVA \(hex(base + 4096)) does not map to \(hex(second))")
        }
        let structAddress = base + 4096 - 40  // cmd and args[0...3] on the first page, the rest on the second
        let vcpu = vm.vcpus[0]
        try vcpu.setRegister(ARM64Registers.x(0), structAddress)
        try expectUcall(vcpu, .sync([0x5742, 0xa, 0xb]))
        try expectUcall(vcpu, .done)
    }),
    ("a ucall made with a store pair is the typed error", {
        let (vm, vcpu) = try guestVM(GuestFunction(a64_guest_store_pair))
        guard vm.kvm.has(.armNISVToUser) else { throw TestSkip(reason: "requires KVM_CAP_ARM_NISV_TO_USER") }
        do {
            let event = try vcpu.step()
            throw TestFailure(description: "expected the no-syndrome error, got \(event)")
        } catch let error as KVMError {
            guard case .malformedUcall(.storeWithoutSyndrome) = error else {
                throw TestFailure(description: "expected .storeWithoutSyndrome, got \(error)")
            }
            print("# \(error)")
        }
    }),
    ("host calls: an answered argument and a buffer changed in place", {
        let (vm, vcpu) = try guestVM(GuestFunction(a64_guest_host_calls))
        vm.answerHostCalls(0x100) { call in call.arguments[0] = call.arguments[0] * 2 }
        vm.answerHostCalls(0x101) { call in call.buffer = call.buffer.map { $0 == 0 ? 0 : $0 - 32 } }
        try expectUcall(vcpu, .hostCall(command: 0x100, arguments: [21]))
        try expectUcall(vcpu, .hostCall(command: 0x101, arguments: []))
        try expectUcall(vcpu, .sync([8, 42, UInt64(UInt8(ascii: "A")), UInt64(UInt8(ascii: "C"))]))
        try expectUcall(vcpu, .done)
    }),
    ("a guest whose exception vectors fault forever is stopped at the deadline, and the next VM runs", {
        let (_, vcpu) = try guestVM(GuestFunction(a64_guest_break_vectors), arguments: [0x6000_0000_0000])
        do {
            let ucall = try vcpu.nextUcall(timeout: .seconds(2))
            throw TestFailure(description: "expected the deadline, got \(ucall)")
        } catch let error as KVMError {
            guard case .ucallTimedOut(_, _, let programCounter) = error else { throw error }
            // It spins taking the abort at the unmapped vector: the PC is in the broken vector table.
            try expect(programCounter >> 12 == 0x6000_0000_0, "stopped at \(hex(programCounter)), not in the vectors")
        }
        let (_, next) = try guestVM(GuestFunction(a64_guest_el_and_mmu))
        try expectUcall(next, .sync([7, 1, 1]))
    }),
    ("the searched ucall address in a 40-bit IPA space (KVM's default)", {
        let (vm, vcpu) = try guestVM(GuestFunction(a64_guest_sync_sequence), arguments: [1])
        try expect(vm.physicalAddressBits == 40, "IPA bits \(vm.physicalAddressBits)")
        try expect(vm.ucallAddress == 0xa0_0000_0000, "ucall address \(hex(vm.ucallAddress)), expected 0xa000000000")
        try expectUcall(vcpu, .sync([1, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666]))
    }),
    ("the searched ucall address in a 48-bit IPA space", {
        let kvm = try KVM.shared()
        guard kvm.check(.armVMIPASize) >= 48 else { throw TestSkip(reason: "requires KVM_CAP_ARM_VM_IPA_SIZE of 48") }
        let (vm, vcpu) = try guestVM(
            GuestFunction(a64_guest_sync_sequence), arguments: [1], configuration: .init(ipaBits: 48))
        try expect(vm.physicalAddressBits == 48, "IPA bits \(vm.physicalAddressBits)")
        // min(48 IPA bits, 48 VA bits - 1) = 47 bits, 5/8 of which is 0x500000000000.
        try expect(vm.ucallAddress == 0x5000_0000_0000, "ucall address \(hex(vm.ucallAddress)), expected 0x500000000000")
        try expectUcall(vcpu, .sync([1, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666]))
    }),
    ("an explicit ucall address", {
        let explicit: UInt64 = 0x60_0000_0000
        let (vm, vcpu) = try guestVM(
            GuestFunction(a64_guest_sync_sequence), arguments: [1], configuration: .init(ucallAddress: explicit))
        try expect(vm.ucallAddress == explicit, "ucall address \(hex(vm.ucallAddress)), expected \(hex(explicit))")
        try expectUcall(vcpu, .sync([1, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666]))
    }),
]

@main
struct ARM64TestRunner {
    static func main() {
        var passed = 0
        var failed = 0
        var skipped = 0
        print("KTAP version 1")
        print("1..\(tests.count)")
        for (number, test) in zip(1..., tests) {
            do {
                try test.run()
                passed += 1
                print("ok \(number) - \(test.name)")
            } catch let skip as TestSkip {
                skipped += 1
                print("ok \(number) - \(test.name) # SKIP \(skip.reason)")
            } catch {
                failed += 1
                print("not ok \(number) - \(test.name): \(error)")
            }
        }
        print("arm64 tests: \(passed) passed, \(failed) failed, \(skipped) skipped")
        exit(failed == 0 ? 0 : 1)
    }
}
#else
import Glibc

@main
struct ARM64TestRunner {
    static func main() {
        print("kvm-harness-arm64-tests: these tests run arm64 guests on an arm64 KVM host; here, bash scripts/arm64.sh "
            + "runs them in an emulated one")
        exit(0)
    }
}
#endif
