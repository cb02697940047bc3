import KVMHarness
import KVMHarnessReporting
import Testing

@Suite("ExitReasonReference and InstructionBytes: the words for exits")
struct ExitReasonReferenceTests {
    @Test("lookup by number, hex, name with or without the prefix; unknown ones are nil")
    func lookup() {
        #expect(ExitReasonReference.lookup("39") == .memoryFault)
        #expect(ExitReasonReference.lookup("0x27") == .memoryFault)
        #expect(ExitReasonReference.lookup("memory_fault") == .memoryFault)
        #expect(ExitReasonReference.lookup("KVM_EXIT_SHUTDOWN") == .shutdown)
        #expect(ExitReasonReference.lookup("99") == nil)
        #expect(ExitReasonReference.lookup("UNKNOWN_99") == nil)
        #expect(ExitReasonReference.lookup("banana") == nil)
        #expect(ExitReasonReference.unknownMessage("banana").contains("0 to 41"))
    }

    @Test("the table has every reason, wrapped to the width")
    func table() {
        let table = ExitReasonReference.table(width: 100)
        for reason in ExitReason.all { #expect(table.contains("  \(reason.name) ")) }
        #expect(table.split(separator: "\n").allSatisfy { $0.count <= 100 })
        let one = ExitReasonReference.explain(.memoryFault)
        #expect(one.hasPrefix("KVM_EXIT_MEMORY_FAULT (39)\n"))
    }

    @Test("instructions that explain an exit by themselves")
    func instructions() {
        #expect(InstructionBytes.describe([0x0f, 0x0b]) == "UD2, which raises #UD")
        #expect(InstructionBytes.describe([0xf4]) == "HLT")
        #expect(InstructionBytes.describe([0x0f, 0x57, 0xc0]) == "an SSE instruction")
        #expect(InstructionBytes.describe([0x66, 0x0f, 0xef, 0xc0]) == "an SSE instruction")
        #expect(InstructionBytes.describe([0xc5, 0xf8, 0x77]) == "a VEX-encoded (AVX) instruction")
        #expect(InstructionBytes.describe([0x48, 0x89, 0xc0]) == nil)
        #expect(InstructionBytes.describe([]) == nil)
        #expect(InstructionBytes.exceptionRaised(by: [0xcc])?.exception == "#BP")
        #expect(hexBytes([0x0f, 0xab]) == "0f ab")
        #expect(InstructionBytes.fromEmulationFailure([1, 0x0b0f_02, 0]) == [0x0f, 0x0b])
        #expect(InstructionBytes.fromEmulationFailure([0, 0x0b0f_02, 0]) == nil)
    }
}
