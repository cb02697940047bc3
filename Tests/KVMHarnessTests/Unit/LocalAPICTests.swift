import KVMHarnessStubs
import Testing

@testable import KVMHarness

/// The local APIC's pure parts: IA32_APIC_BASE modes, register access in `kvm_lapic_state`, and the IDT gates the
/// harness builds for exceptions and interrupts.
@Suite("local APIC and IDT (pure)")
struct LocalAPICTests {
    @Test("IA32_APIC_BASE bits 11 and 10 select the mode, and applying a mode keeps the other bits")
    func modes() {
        #expect(APICMode(apicBase: 0xfee0_0900) == .xAPIC)
        #expect(APICMode(apicBase: 0xfee0_0d00) == .x2APIC)
        #expect(APICMode(apicBase: 0xfee0_0100) == .disabled)
        #expect(APICMode(apicBase: 0xfee0_0500) == .invalid)
        #expect(APICMode.x2APIC.applied(to: 0xfee0_0900) == 0xfee0_0d00)
        #expect(APICMode.disabled.applied(to: 0xfee0_0d00) == 0xfee0_0100)
        #expect(APICMode.xAPIC.applied(to: 0xfee0_0d00) == 0xfee0_0900)
    }

    @Test("registers at their offsets, little-endian; the ICR spans 0x300 and 0x310; the IRR is eight words")
    func registers() {
        var state = LocalAPICState()
        #expect(state.bytes.count == 1024)
        state[.id] = 0x0300_0000
        #expect(Array(state.bytes[0x20..<0x24]) == [0, 0, 0, 3])
        state.interruptCommand = 0xff00_0000_0004_40a5
        #expect(state[.interruptCommand] == 0x0004_40a5)
        #expect(state[.interruptCommandHigh] == 0xff00_0000)
        state.interruptRequests = [0x1_0000_0002, 0, 0, 1 << 63]
        #expect(state[.interruptRequest] == 2)
        #expect(state[LocalAPICRegister(rawValue: 0x210)] == 1)
        #expect(state[LocalAPICRegister(rawValue: 0x270)] == 0x8000_0000)
        #expect(state.interruptRequests == [0x1_0000_0002, 0, 0, 1 << 63])
        #expect(LocalAPICRegister.interruptCommand.x2apicMSR == 0x830)
        #expect(LocalAPICRegister.endOfInterrupt.x2apicMSR == 0x80b)
    }

    @Test("every vector has a present gate to its stub: exceptions on IST1, interrupts on IST2")
    func idtGates() {
        let idt = LongMode.idt()
        for vector in [0, 14, 31, 32, 0xa5, 255] {
            let low = idt[2 * vector], high = idt[2 * vector + 1]
            let handler = (low & 0xffff) | ((low >> 48) & 0xffff) << 16 | high << 32
            #expect(handler == UInt64(KVMH_STUBS_GVA) + UInt64(vector) * UInt64(KVMH_STUB_ENTRY_SIZE))
            #expect((low >> 40) & 0xff == 0x8e, "vector \(vector): present 64-bit interrupt gate")
            #expect((low >> 32) & 7 == (vector < 32 ? 1 : 2), "vector \(vector): IST")
        }
        let tss = LongMode.tss(exceptionStackTop: 0x1122_3344_5566_7788, interruptStackTop: 0x99aa_bbcc_ddee_ff00)
        let ist2 = (0..<8).reduce(UInt64(0)) { $0 | UInt64(tss[0x2c + $1]) << (8 * UInt64($1)) }
        #expect(ist2 == 0x99aa_bbcc_ddee_ff00)
    }
}
