import CKVM
import Foundation
import KVMHarnessTesting
import TestGuests
import XCTest

@testable import KVMHarness

/// Threads, descriptors and mappings the library makes are all given back. These read process-wide figures from
/// /proc/self, so they are XCTests: XCTest runs its tests one at a time, before the Swift Testing tests start, so
/// nothing else in the process makes threads or VMs while they measure.
final class ResourceLifetimeXCTests: XCTestCase {
    /// Four glibc malloc arenas of 64 MiB address space each (see the first test).
    static let arenaAllowanceKiB = 4 * (64 << 10)

    /// Each leaked joinable thread kept its 8 MiB stack (plus guard) mapped: `await vm.run()` grew VmSize by about
    /// 10 MiB a call, 8 GiB over these 1,000 runs. The legitimate growth is glibc malloc arenas, 64 MiB of address
    /// space each, which glibc adds when threads contend for the allocator (seen here: one arena appearing
    /// mid-loop), so the bound allows four of them: 256 MiB, thirty times below the leak.
    func testAsyncRunAThousandTimesKeepsThreadsAndVirtualSizeFlat() async throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_done_forever))
        for _ in 0..<100 { _ = await vm.run() }  // warm up the cooperative pool and malloc's arenas
        let before = try ProcessResources.current()
        for run in 0..<1000 {
            let report = await vm.run()
            guard report.vcpus[0].outcome == .done else {
                return XCTFail("run \(run) ended \(report.vcpus[0].outcome), not DONE")
            }
        }
        let after = try ProcessResources.current()
        // Not the process's whole thread count: the awaits in between may make libdispatch start worker and timer
        // threads of its own when the machine is busy (seen: 6 threads before, 8 after, with the test command's
        // arm64 build running beside it). None of the library's threads may be left running.
        XCTAssertEqual(try ProcessResources.threads(named: OSThread.name), 0, "threads before: \(before); after: \(after)")
        XCTAssertLessThanOrEqual(
            after.virtualKiB - before.virtualKiB, Self.arenaAllowanceKiB, "VmSize grew: before \(before); after \(after)")
    }

    /// The synchronous run starts and joins one thread per vCPU; the same figures stay flat.
    func testSynchronousRunsKeepThreadsAndVirtualSizeFlat() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_done_forever), vcpus: 2)
        for _ in 0..<20 { _ = vm.run() }
        let before = try ProcessResources.current()
        for _ in 0..<500 { XCTAssertTrue(vm.run().succeeded) }
        let after = try ProcessResources.current()
        // The library's threads, by name: the process's count moves with libdispatch's own threads (seen: 9 before,
        // 8 after, an idle worker reaped, with the arm64 build running beside the tests).
        XCTAssertEqual(try ProcessResources.threads(named: OSThread.name), 0, "threads before: \(before); after: \(after)")
        XCTAssertLessThanOrEqual(
            after.virtualKiB - before.virtualKiB, Self.arenaAllowanceKiB, "before \(before); after \(after)")
    }

    /// A kick after the vCPU's thread has finished (and been joined) signals nobody: it only makes the next run
    /// return at once, until the kick is cleared.
    func testKickAfterTheRunEndedIsHarmless() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_done_forever))
        XCTAssertTrue(vm.run().succeeded)
        let vcpu = vm.vcpus[0]
        XCTAssertFalse(vcpu.isDriven, "no thread is inside step() after a run")
        vcpu.kick()
        vcpu.kick()
        XCTAssertTrue(vcpu.isKicked)
        XCTAssertEqual(try vcpu.step(), .kicked)
        vcpu.clearKick()
        XCTAssertEqual(try vcpu.nextUcall(), .done)
        XCTAssertFalse(vcpu.isDriven)
    }

    /// Every step of making a VM (each ioctl, mmap and thread the library asks for) fails once in turn, by the
    /// system-call seam; each failure is a typed error, and every descriptor and mapping opened before it is closed.
    func testVMCreationFailingAtEachStepClosesEverythingItOpened() throws {
        try skipUnlessKVM()
        let kvm = try KVM.shared()
        func makeVM() throws(KVMError) {
            let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages), vcpus: 2, arguments: [1, 2], kvm: kvm)
            _ = vm.run()
        }
        let steps = CallLog()
        try SyscallSeam.withInterposer({ call, _ in
            steps.record(call)
            return nil
        }) { try makeVM() }
        let failable = steps.calls.enumerated().filter { $0.element.isFailable }
        XCTAssertGreaterThanOrEqual(failable.count, 20, "the calls VM creation makes: \(steps.calls.map(\.name))")

        let before = try ProcessResources.current()
        for (position, call) in failable {
            let seen = CallLog()
            var thrown: KVMError?
            do {
                try SyscallSeam.withInterposer({ call, _ in
                    seen.record(call)
                    guard seen.count == position + 1 else { return nil }
                    if case .mmap = call { return .fail(.noMemory) }
                    if case .pthreadCreate = call { return .fail(.resourceTemporarilyUnavailable) }
                    return .fail(.ioError)
                }) { try makeVM() }
            } catch let error as KVMError {
                thrown = error
            }
            let after = try ProcessResources.current()
            let leaked = Set(after.fileDescriptors).subtracting(before.fileDescriptors).sorted()
            XCTAssertEqual(
                leaked, [], "failing call \(position) (\(call)) leaked \(ProcessResources.describeDescriptors(leaked))")
            XCTAssertEqual(after.mappings, before.mappings, "failing call \(position) (\(call)) left mappings")
            switch call {
            case .pthreadCreate:
                // A vCPU thread that cannot start is reported in the run, not thrown.
                XCTAssertNil(thrown)
            case .ioctl(_, CKVM_CHECK_EXTENSION, _):
                // A capability check that fails reads as "absent" (KVM_CHECK_EXTENSION's own convention).
                XCTAssertNil(thrown)
            default:
                XCTAssertNotNil(thrown, "failing call \(position) (\(call)) was not reported")
            }
        }
    }

    /// Opening KVM fails at each of its steps (open, API version, capabilities, mmap size, CPUID) in turn: a typed
    /// error each time, and the device is closed again.
    func testOpeningKVMFailingAtEachStepClosesTheDevice() throws {
        try skipUnlessKVM()
        let steps = CallLog()
        _ = try SyscallSeam.withInterposer({ call, _ in
            steps.record(call)
            return nil
        }) { try KVM() }
        let before = try ProcessResources.current()
        for position in 0..<steps.count where steps.calls[position].isFailable {
            let seen = CallLog()
            XCTAssertThrowsError(
                try SyscallSeam.withInterposer({ call, _ in
                    seen.record(call)
                    return seen.count == position + 1 ? .fail(.ioError) : nil
                }) { try KVM() })
            let after = try ProcessResources.current()
            XCTAssertEqual(
                after.fileDescriptors, before.fileDescriptors, "failing call \(position) leaked a descriptor")
        }
    }
}

/// The system calls an interposer saw, in order (interposers may be called from any thread).
final class CallLog: @unchecked Sendable {
    // Sendable: `storage` is only touched with `lock` held.
    private let lock = NSLock()
    private var storage: [SystemCall] = []

    func record(_ call: SystemCall) { lock.withLock { storage.append(call) } }
    var calls: [SystemCall] { lock.withLock { storage } }
    var count: Int { lock.withLock { storage.count } }
}

extension SystemCall {
    /// Calls that acquire something or configure KVM, which the error-path tests fail in turn. Releasing calls
    /// (close, munmap) are left alone: the library ignores their errors by design.
    var isFailable: Bool {
        switch self {
        case .close, .munmap: false
        default: true
        }
    }
}
