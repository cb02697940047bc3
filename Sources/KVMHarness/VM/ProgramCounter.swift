extension kvm_regs {
    #if arch(x86_64)
    /// The program counter: RIP.
    public var programCounter: UInt64 { rip }
    /// What the architecture calls the program counter, for messages: "RIP".
    public static let programCounterName = "RIP"
    #elseif arch(arm64)
    /// The program counter: PC.
    public var programCounter: UInt64 { regs.pc }
    /// What the architecture calls the program counter, for messages: "PC".
    public static let programCounterName = "PC"
    #endif
}
