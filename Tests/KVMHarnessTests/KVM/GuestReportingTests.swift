import Glibc
import KVMHarnessGuest
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Guest assertions, printf and exceptions on real KVM", .requiresKVM)
struct GuestReportingTests {
    @Test("every GUEST_ASSERT form that holds lets the guest reach DONE")
    func passingAsserts() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_asserts_pass))
        await vm.expectRun(ucalls: [.done])
    }

    @Test("a failing GUEST_ASSERT_EQ is reported at the guest's file:line with both values, each side evaluated once")
    func failingAssertEq() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_assert_eq_fails))
        let report = await vm.run()
        let expectedMessage =
            "expected counted(x + 1) == 43: left = 0x2a (42), right = 0x2b (43)"
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "counted(x + 1) == 43")
        #expect(assertion.file?.hasSuffix("Tests/TestGuests/asserts.c") == true)
        #expect(assertion.line == guest_assert_eq_line)
        #expect(assertion.message == expectedMessage)
        let failures = GuestRunVerdict.failures(of: report)
        #expect(failures.count == 1)
        #expect(failures[0].message.hasPrefix("guest assertion failed: \(assertion.file!):\(guest_assert_eq_line): counted(x + 1) == 43: \(expectedMessage)"))
        #expect(failures[0].file == assertion.file && failures[0].line == Int(guest_assert_eq_line))

        // In Swift Testing the issue is recorded at the guest's C source line.
        withKnownIssue {
            expectGuestRun(report)
        } matching: { issue in
            issue.sourceLocation?.fileName == "asserts.c" && issue.sourceLocation?.line == Int(guest_assert_eq_line)
        }
    }

    @Test("GUEST_FAIL carries its message")
    func guestFail() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_fail)).run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "GUEST_FAIL")
        #expect(assertion.message == "gave up after 3 tries")
    }

    @Test("GUEST_PRINTF lines are captured in order with the ucalls around them")
    func printfOrder() async throws {
        let lines = LineCollector()
        let vm = try VirtualMachine(entry: GuestFunction(guest_printf_between_syncs))
        let report = await vm.run(RunOptions(onUcall: { _, ucall in if case .printf(let text) = ucall { lines.append(text) } }))
        #expect(
            report.vcpus[0].ucalls == [
                .sync([1]), .printf("hello from the guest: 42"), .sync([2]), .printf("abc-0xff-    7|"), .done,
            ])
        #expect(lines.lines == ["hello from the guest: 42", "abc-0xff-    7|"])
        expectGuestRun(report, ucalls: [.sync([1]), .sync([2]), .done])
    }

    @Test("a 1,200-character printf is truncated to the buffer, marked, and the guest goes on")
    func longPrintf() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_long_printf)).run()
        #expect(report.succeeded)
        let text = report.vcpus[0].printfLines.first ?? ""
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz")
        let full = String((0..<1200).map { alphabet[$0 % 26] })
        #expect(text.count == 1023)
        #expect(text == String(full.prefix(1020)) + "...")
    }

    @Test("a guest #UD is reported as UNHANDLED with the RIP of the UD2")
    func undefinedOpcode() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_undefined_opcode)).run()
        #expect(report.vcpus[0].outcome == .failed(.unhandled(GuestException(vector: 6, rip: guest_ud2_address()))))
        let failures = GuestRunVerdict.failures(of: report)
        #expect(failures.map(\.message) == ["unhandled guest exception: #UD (Invalid Opcode) at RIP \(hex(guest_ud2_address()))"])
    }

    @Test("a guest #PF is reported with CR2 and the error code")
    func pageFault() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_page_fault)).run()
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(exception.vector == 14)
        #expect(exception.cr2 == 0x666_0000)
        #expect(exception.errorCode == 0, "a not-present read at CPL0")
    }

    @Test("a guest handler expects a #GP and resumes past it")
    func gpHandler() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_expect_gp))
        try vm.installExceptionHandler(vector: 13, handler: GuestFunction(guest_gp_handler))
        await vm.expectRun(ucalls: [.sync(stage: 1, 13, 0, 1), .done])
    }

    @Test("a spinning guest fails at its deadline, within 200 ms of it, with a diagnosis")
    func deadline() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin))
        let report = await vm.run(RunOptions(deadline: .milliseconds(500)))
        #expect(report.timedOut)
        #expect(report.vcpus[0].outcome == .timedOut)
        #expect(report.elapsedNanoseconds >= 500_000_000)
        #expect(report.elapsedNanoseconds < 700_000_000, "stopped \(report.elapsedNanoseconds / 1_000_000) ms after start")
        #expect(report.vcpus[0].lastUcall == .sync([1]))
        let diagnosis = report.timeoutDiagnosis
        #expect(diagnosis.contains("vCPU 0: running at RIP 0x"))
        #expect(diagnosis.contains("last ucall SYNC [0x1]"))
        #expect(diagnosis.contains("MMIO=1"))
        let rip = report.vcpus[0].registers.rip
        let loop = guest_spin_loop_address()
        #expect(rip == loop || rip == loop + 2, "RIP \(hex(rip)) is on the PAUSE or the JMP of the spin loop")
    }

    @Test("a second vCPU's failure stops the first, which is spinning")
    func failureStopsOthers() async throws {
        let vm = try VirtualMachine()
        try vm.addVCPU(entry: GuestFunction(guest_spin))
        try vm.addVCPU(entry: GuestFunction(guest_undefined_opcode))
        let report = await vm.run(RunOptions(deadline: .seconds(20)))
        #expect(!report.timedOut)
        #expect(report.vcpus[0].outcome == .stopped)
        #expect(report.vcpus[1].outcome == .failed(.unhandled(GuestException(vector: 6, rip: guest_ud2_address()))))
    }

    @Test("a sequence mismatch's message shows expected against observed")
    func sequenceMismatch() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_sync_stages), arguments: [1, 2]).run()
        let failures = GuestRunVerdict.failures(of: report, expected: [.sync([1, 0x11, 0x12]), .sync([2]), .done])
        #expect(failures.count == 1)
        #expect(
            failures.first?.message == """
                ucall sequence mismatch
                  #  expected                observed
                  0  SYNC [0x1, 0x11, 0x12]  SYNC [0x1, 0x11, 0x12]
                ✗ 1  SYNC [0x2]              SYNC [0x2, 0x21, 0x22, 0x23]
                ✗ 2  DONE                    SYNC [0x3, 0x1, 0x2, 0x3]
                ✗ 3  -                       DONE
                first difference at #1
                """)
    }
}

/// Lines collected from vCPU threads.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLockLike()
    private var storage: [String] = []
    func append(_ line: String) { lock.withLock { storage.append(line) } }
    var lines: [String] { lock.withLock { storage } }
}

/// A minimal lock for the test (Foundation-free).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
