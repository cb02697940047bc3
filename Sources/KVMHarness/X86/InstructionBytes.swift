#if arch(x86_64)
/// Recognizes the few x86 instructions that explain an exit by themselves, from their bytes. Not a disassembler:
/// it names UD2, HLT, INT3, INT n and the SSE/AVX families (which KVM's instruction emulator mostly cannot handle)
/// and says nothing about anything else.
package enum InstructionBytes {
    /// What the instruction starting at `bytes` is, when that explains an exit: "UD2, which raises #UD",
    /// "an SSE instruction", ...; nil when it is none of the recognized ones.
    package static func describe(_ bytes: [UInt8]) -> String? {
        var index = 0
        // Legacy prefixes that SSE encodings use (operand size, REP/REPNE), then an optional REX prefix.
        while index < bytes.count, [0x66, 0xf2, 0xf3].contains(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] & 0xf0 == 0x40 { index += 1 }
        guard index < bytes.count else { return nil }
        let opcode = bytes[index]
        switch opcode {
        case 0xc4, 0xc5:
            return "a VEX-encoded (AVX) instruction"
        case 0x62:
            return "an EVEX-encoded (AVX-512) instruction"
        case 0xf4:
            return "HLT"
        case 0xcc:
            return "INT3, which raises #BP"
        case 0xcd where index + 1 < bytes.count:
            return "INT \(hex(bytes[index + 1])), a software interrupt"
        case 0x0f where index + 1 < bytes.count:
            let second = bytes[index + 1]
            switch second {
            case 0x0b: return "UD2, which raises #UD"
            case 0x10...0x17, 0x28...0x2f, 0x50...0x7f, 0xc2, 0xc4...0xc6, 0xd0...0xff:
                return "an SSE instruction"
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The exception an instruction always raises, for the two that exist to raise one: UD2 (#UD) and INT3 (#BP).
    package static func exceptionRaised(by bytes: [UInt8]) -> (instruction: String, exception: String)? {
        if bytes.starts(with: [0x0f, 0x0b]) { return ("UD2", "#UD") }
        if bytes.first == 0xcc { return ("INT3", "#BP") }
        return nil
    }

    /// Whether `describe` calls the instruction SSE or AVX: KVM's emulator handles few of those.
    package static func isVectorInstruction(_ bytes: [UInt8]) -> Bool {
        guard let text = describe(bytes) else { return false }
        return text.contains("SSE") || text.contains("AVX")
    }

    /// The instruction bytes of an `INTERNAL_ERROR`/`EMULATION` exit, when KVM reported them: with
    /// `KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES` (bit 0 of `data[0]`), `data[1]` and `data[2]` hold the
    /// length (one byte) and up to 15 bytes of the instruction.
    package static func fromEmulationFailure(_ data: [UInt64]) -> [UInt8]? {
        guard data.count >= 3, data[0] & 1 != 0 else { return nil }
        var raw: [UInt8] = []
        for word in data[1...2] {
            for shift in stride(from: 0, to: 64, by: 8) { raw.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        let length = min(Int(raw[0]), 15)
        return Array(raw[1..<(1 + length)])
    }
}
#endif
