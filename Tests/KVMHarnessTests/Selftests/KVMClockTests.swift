import Foundation
import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/kvm_clock_test.c`: the kvmclock the guest computes from KVM's time information lies
/// between the VM clock (`KVM_GET_CLOCK`) just before and just after the run, for four ways of setting it.
@Suite("selftest kvm_clock_test", .requiresKVM)
struct KVMClockTests {
    /// A clock setting: the kvmclock value, and how far from now the real time given with it is (0: none given).
    struct Setting {
        /// The kvmclock in nanoseconds.
        var clock: UInt64
        /// Nanoseconds from now to the real time passed with `KVM_CLOCK_REALTIME`.
        var realtimeOffset: Int64 = 0
    }

    static let nanosecondsPerSecond: Int64 = 1_000_000_000
    /// The C test's four cases: clock 0, clock 180 s, and clock 0 against a real time 180 s ago and 180 s ahead.
    static let settings: [Setting] = [
        Setting(clock: 0),
        Setting(clock: 180 * UInt64(nanosecondsPerSecond)),
        Setting(clock: 0, realtimeOffset: -180 * nanosecondsPerSecond),
        Setting(clock: 0, realtimeOffset: 180 * nanosecondsPerSecond),
    ]

    /// KVM_GET_CLOCK must report both the host's real time and its TSC with the clock.
    static let expectedFlags = UInt32(KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

    /// Whether KVM can set the clock against the real time (`KVM_CAP_ADJUST_CLOCK` has `KVM_CLOCK_REALTIME`).
    static var kvmTakesRealtime: Bool {
        guard let kvm = try? KVM.shared() else { return false }
        return kvm.check(.adjustClock) & Int32(KVM_CLOCK_REALTIME) != 0
    }

    /// Whether the host's clocksource is based on the TSC, which KVM needs to report the host TSC with the clock.
    static var hostClockIsTSC: Bool {
        let path = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
        let name = try? String(contentsOfFile: path, encoding: .utf8)
        return name == "tsc\n" || name == "hyperv_clocksource_tsc_page\n"
    }

    @Test(
        "the guest's kvmclock lies between KVM_GET_CLOCK before and after, for each clock setting",
        .enabled(if: kvmTakesRealtime, "requires KVM_CAP_ADJUST_CLOCK with KVM_CLOCK_REALTIME"),
        .enabled(if: hostClockIsTSC, "requires a TSC-based host clocksource"))
    func clockRanges() throws {
        let vm = try VirtualMachine()
        let pvtiGVA: UInt64 = 0x10_0000_0000
        let pvtiGPA = try vm.allocate(gva: pvtiGVA, size: 4096)
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_kvm_clock), arguments: [pvtiGPA, pvtiGVA])

        for (i, setting) in Self.settings.enumerated() {
            var data = kvm_clock_data()
            data.clock = setting.clock
            if setting.realtimeOffset != 0 {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                let nanoseconds = Int64(now.tv_sec) * Self.nanosecondsPerSecond + Int64(now.tv_nsec)
                data.flags = UInt32(KVM_CLOCK_REALTIME)
                data.realtime = UInt64(nanoseconds + setting.realtimeOffset)
            }
            try vm.setClock(data)

            let start = try vm.clock()
            let ucall = try vcpu.nextUcall()
            let end = try vm.clock()
            #expect(start.flags & Self.expectedFlags == Self.expectedFlags, "KVM_GET_CLOCK flags \(start.flags)")
            #expect(end.flags & Self.expectedFlags == Self.expectedFlags, "KVM_GET_CLOCK flags \(end.flags)")
            guard case .sync(let arguments) = ucall, arguments[0] == UInt64(i) else {
                Issue.record("expected SYNC(\(i), kvmclock), got \(ucall)")
                return
            }
            let observed = arguments[1]
            #expect(
                (start.clock...end.clock).contains(observed),
                "setting \(i): kvmclock \(observed) outside [\(start.clock), \(end.clock)]")
        }
        #expect(try vcpu.nextUcall() == .done)
    }
}
