import Foundation
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/userspace_msr_exit_test.c`: MSR filters (`KVM_X86_SET_MSR_FILTER`) and user-space
/// MSR exits (`KVM_CAP_X86_USER_SPACE_MSR`) with their reasons, answered by the host (a value, or #GP), and the
/// flags both take. Not ported: the C test's second half, which repeats msr_filter_allow with KVM's forced-emulation
/// prefix and runs only where the `kvm.force_emulation_prefix` module parameter is set (0 on the hosts this project
/// runs on, where the C test skips it too).
@Suite("selftest userspace_msr_exit_test", .requiresKVM, .requires(.userSpaceMSR), .requires(.msrFilter))
struct UserspaceMSRExitTests {
    static let fsBase: UInt32 = 0xc000_0100, gsBase: UInt32 = 0xc000_0101, syscallMask: UInt32 = 0xc000_0084
    static let powerControl: UInt32 = 0x1fc, xss: UInt32 = 0xda0, flushCommand: UInt32 = 0x10b
    static let nonExistent: UInt32 = 0x474f_4f00

    static let reasonInvalid = UInt64(KVM_MSR_EXIT_REASON_INVAL), reasonUnknown = UInt64(KVM_MSR_EXIT_REASON_UNKNOWN)
    static let reasonFilter = UInt64(KVM_MSR_EXIT_REASON_FILTER)

    /// One run, which must end in an RDMSR exit of `index`; `answer` completes it.
    private func expectRDMSR(_ vcpu: VCPU, _ index: UInt32, answer: (VCPU) throws -> Void) throws {
        let event = try vcpu.step()
        guard case .exit(.readMSR(index, _)) = event else {
            Issue.record("expected an X86_RDMSR exit of \(hex(index)), got \(event)")
            throw KVMError.interrupted
        }
        try answer(vcpu)
    }

    /// One run, which must end in a WRMSR exit of `index`; returns the value written after `answer` completes it.
    private func expectWRMSR(_ vcpu: VCPU, _ index: UInt32, answer: (VCPU, UInt64) throws -> Void) throws {
        let event = try vcpu.step()
        guard case .exit(.writeMSR(index, let value, _)) = event else {
            Issue.record("expected an X86_WRMSR exit of \(hex(index)), got \(event)")
            throw KVMError.interrupted
        }
        try answer(vcpu, value)
    }

    @Test("msr_filter_allow: denied MSRs exit with FILTER; the host answers XSS, faults FLUSH_CMD, keeps a made-up MSR")
    func filterAllow() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_msr_filter_allow))
        try vm.enableCapability(.userSpaceMSR, arguments: [Self.reasonFilter])
        let deny = { (base: UInt32) in MSRFilter.Range(access: [.read, .write], base: base, bitmap: [0], count: 1) }
        try vm.setMSRFilter(MSRFilter(ranges: [deny(Self.xss), deny(Self.flushCommand), deny(Self.nonExistent)]))
        try vm.installExceptionHandler(vector: 13, handler: GuestFunction(guest_user_msr_gp_handler))
        let vcpu = vm.vcpus[0]
        var madeUp: UInt64 = 0

        try expectRDMSR(vcpu, Self.xss) { try $0.answerRDMSR(value: 0) }
        try expectWRMSR(vcpu, Self.xss) { vcpu, value in value == 0 ? try vcpu.answerWRMSR() : try vcpu.failMSRAccess() }
        try expectWRMSR(vcpu, Self.xss) { vcpu, value in value == 0 ? try vcpu.answerWRMSR() : try vcpu.failMSRAccess() }
        try expectRDMSR(vcpu, Self.flushCommand) { try $0.failMSRAccess() }
        try expectWRMSR(vcpu, Self.flushCommand) { vcpu, value in
            value == 1 ? try vcpu.answerWRMSR() : try vcpu.failMSRAccess()
        }
        try expectWRMSR(vcpu, Self.flushCommand) { vcpu, value in
            value == 1 ? try vcpu.answerWRMSR() : try vcpu.failMSRAccess()
        }
        try expectWRMSR(vcpu, Self.nonExistent) { vcpu, value in
            madeUp = value
            try vcpu.answerWRMSR()
        }
        try expectRDMSR(vcpu, Self.nonExistent) { try $0.answerRDMSR(value: madeUp) }
        #expect(try vcpu.nextUcall() == .done)
    }

    @Test("msr_filter_deny: a default-deny filter traps 4 RDMSRs and 3 WRMSRs with the right reasons, then none")
    func filterDeny() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_msr_filter_deny))
        try vm.enableCapability(.userSpaceMSR, arguments: [Self.reasonInvalid | Self.reasonUnknown | Self.reasonFilter])
        let size = Int(KVM_MSR_FILTER_MAX_BITMAP_SIZE)
        func range(_ access: MSRFilter.Access, _ base: UInt32, denying denied: [UInt32] = []) -> MSRFilter.Range {
            var range = MSRFilter.Range(access: access, base: base, count: size * 8, allowed: true)
            // The C test folds each MSR into the bitmap by its low bits (index & (size - 1)).
            for msr in denied { range.set(base + (msr & UInt32(size - 1)), allowed: false) }
            return range
        }
        try vm.setMSRFilter(
            MSRFilter(
                defaultDeny: true,
                ranges: [
                    range(.read, 0), range(.write, 0, denying: [Self.powerControl]), range([.read, .write], 0x4000_0000),
                    range(.read, 0xc000_0000, denying: [Self.syscallMask, Self.gsBase]), range(.write, 0xc000_0000),
                    MSRFilter.Range(access: [.read, .write], base: 0xdead_beef, bitmap: [1], count: 1),
                ]))
        let vcpu = vm.vcpus[0]
        var reads = 0, writes = 0
        loop: while true {
            switch try vcpu.step() {
            case .exit(.readMSR(let index, let reason)):
                reads += 1
                if index == Self.syscallMask || index == Self.gsBase { #expect(UInt64(reason) == Self.reasonFilter) }
                if index == 0xdead_beef { #expect(UInt64(reason) == Self.reasonUnknown) }
                try vcpu.answerRDMSR(value: UInt64(index))
            case .exit(.writeMSR(let index, let value, let reason)):
                writes += 1
                if index == Self.powerControl || index == 0xdead_beef {
                    #expect(value == 0x1234)
                    #expect(UInt64(reason) == (index == Self.powerControl ? Self.reasonFilter : Self.reasonUnknown))
                }
                try vcpu.answerWRMSR()
            case .ucall(.sync):
                try vm.setMSRFilter(MSRFilter())
            case .ucall(.done):
                break loop
            case let other:
                Issue.record("unexpected \(other)")
                return
            }
        }
        #expect(reads == 4)
        #expect(writes == 3)
    }

    @Test("msr_permission_bitmap: a filter on FS_BASE reads, then one on GS_BASE, trap just that MSR")
    func permissionBitmap() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_msr_permission_bitmap))
        try vm.enableCapability(.userSpaceMSR, arguments: [Self.reasonFilter])
        let denyRead = { (base: UInt32) in MSRFilter(ranges: [.init(access: .read, base: base, bitmap: [0], count: 1)]) }
        let vcpu = vm.vcpus[0]
        try vm.setMSRFilter(denyRead(Self.fsBase))
        try expectRDMSR(vcpu, Self.fsBase) { try $0.answerRDMSR(value: UInt64(Self.fsBase)) }
        #expect(try vcpu.nextUcall() == .sync(stage: 0))
        try vm.setMSRFilter(denyRead(Self.gsBase))
        try expectRDMSR(vcpu, Self.gsBase) { try $0.answerRDMSR(value: UInt64(Self.gsBase)) }
        #expect(try vcpu.nextUcall() == .done)
    }

    @Test("user_exit_msr_flags: only valid exit reasons and filter flags are accepted, every other bit is EINVAL")
    func flags() throws {
        let vm = try VirtualMachine(entry: GuestFunction(address: 0))
        let validReasons = Self.reasonInvalid | Self.reasonUnknown | Self.reasonFilter
        for bit in 0..<64 {
            let flag = UInt64(1) << UInt64(bit)
            if flag & validReasons != 0 {
                try vm.enableCapability(.userSpaceMSR, arguments: [flag])
            } else {
                #expect(throws: KVMError.ioctlFailed(
                    operation: "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) on the VM", errno: .invalidArgument)) {
                    try vm.enableCapability(.userSpaceMSR, arguments: [flag])
                }
            }
        }
        let einval = KVMError.ioctlFailed(operation: "KVM_X86_SET_MSR_FILTER", errno: .invalidArgument)
        var filter = MSRFilter(ranges: [.init(access: .read, base: 0, bitmap: [0], count: 1)])
        for bit in 0..<32 {
            filter.flags = UInt32(1) << UInt32(bit)
            if filter.flags == UInt32(KVM_MSR_FILTER_DEFAULT_DENY) {
                try vm.setMSRFilter(filter)
            } else {
                #expect(throws: einval, "filter flag bit \(bit)") { try vm.setMSRFilter(filter) }
            }
        }
        filter.flags = 0
        for bit in 0..<32 {
            filter.ranges[0].access = MSRFilter.Access(rawValue: UInt32(1) << UInt32(bit))
            if filter.ranges[0].access.isSubset(of: [.read, .write]) {
                try vm.setMSRFilter(filter)
            } else {
                #expect(throws: einval, "range flag bit \(bit)") { try vm.setMSRFilter(filter) }
            }
        }
    }
}
