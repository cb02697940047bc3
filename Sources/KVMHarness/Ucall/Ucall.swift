internal import KVMHarnessGuest

/// A ucall command (`struct ucall`'s `cmd`). Values are ABI; unknown ones are kept as they are.
public struct UcallCommand: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `cmd` value.
    public var rawValue: UInt64
    /// Wraps a `cmd` value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `UCALL_NONE` (0): nothing; reported, and the run goes on.
    public static let none = UcallCommand(rawValue: UInt64(UCALL_NONE))
    /// `UCALL_SYNC` (1): a checkpoint.
    public static let sync = UcallCommand(rawValue: UInt64(UCALL_SYNC))
    /// `UCALL_ABORT` (2): a failed guest assertion.
    public static let abort = UcallCommand(rawValue: UInt64(UCALL_ABORT))
    /// `UCALL_PRINTF` (3): a line of guest output.
    public static let printf = UcallCommand(rawValue: UInt64(UCALL_PRINTF))
    /// `UCALL_DONE` (4): the guest finished.
    public static let done = UcallCommand(rawValue: UInt64(UCALL_DONE))
    /// `UCALL_UNHANDLED` (5): an exception with no handler.
    public static let unhandled = UcallCommand(rawValue: UInt64(UCALL_UNHANDLED))

    /// "SYNC", "DONE", ... or "UNKNOWN".
    public var name: String {
        switch rawValue {
        case 0: return "NONE"
        case 1: return "SYNC"
        case 2: return "ABORT"
        case 3: return "PRINTF"
        case 4: return "DONE"
        case 5: return "UNHANDLED"
        default: return "UNKNOWN"
        }
    }

    public var description: String { rawValue <= 5 ? name : "UNKNOWN(\(rawValue))" }
}

/// The seven u64 arguments of a ucall, stored inline so that decoding one allocates nothing.
///
/// An array literal with fewer than seven values fills the rest with 0: `[1, 0x10]` is args 1, 0x10, 0, 0, 0, 0, 0.
public struct UcallArguments: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    /// The number of arguments in a ucall, `UCALL_MAX_ARGS`.
    public static let count = Int(UCALL_MAX_ARGS)

    private var a0: UInt64 = 0, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0
    private var a4: UInt64 = 0, a5: UInt64 = 0, a6: UInt64 = 0

    /// All zero.
    public init() {}

    /// The given values, then zeros; values past the seventh are dropped.
    public init<S: Sequence>(_ values: S) where S.Element == UInt64 {
        for (i, value) in values.prefix(Self.count).enumerated() { self[i] = value }
    }

    public init(arrayLiteral elements: UInt64...) { self.init(elements) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Self.count }

    public subscript(index: Int) -> UInt64 {
        get {
            switch index {
            case 0: return a0
            case 1: return a1
            case 2: return a2
            case 3: return a3
            case 4: return a4
            case 5: return a5
            case 6: return a6
            default: preconditionFailure("ucall argument index \(index) out of range 0..<7")
            }
        }
        set {
            switch index {
            case 0: a0 = newValue
            case 1: a1 = newValue
            case 2: a2 = newValue
            case 3: a3 = newValue
            case 4: a4 = newValue
            case 5: a5 = newValue
            case 6: a6 = newValue
            default: preconditionFailure("ucall argument index \(index) out of range 0..<7")
            }
        }
    }

    /// The arguments up to the last non-zero one, in hex: "[0x1, 0x10]".
    public var description: String {
        let significant = (lastIndex { $0 != 0 }).map { Array(self[...$0]) } ?? []
        return "[" + significant.map { hex($0) }.joined(separator: ", ") + "]"
    }
}

/// A failed guest assertion (an ABORT ucall), with the guest's source location.
public struct GuestAssertion: Hashable, Sendable, CustomStringConvertible {
    /// The asserted expression's text, or nil if the guest's pointer could not be read.
    public var expression: String?
    /// The guest-virtual address of the expression text (`args[0]`).
    public var expressionAddress: UInt64
    /// The guest's `__FILE__`, or nil if it could not be read.
    public var file: String?
    /// The guest-virtual address of the file name (`args[1]`).
    public var fileAddress: UInt64
    /// The guest's `__LINE__` (`args[2]`).
    public var line: UInt64
    /// The formatted message from the ucall buffer (may be empty).
    public var message: String

    /// Creates an assertion report.
    public init(
        expression: String?, expressionAddress: UInt64 = 0, file: String?, fileAddress: UInt64 = 0, line: UInt64,
        message: String
    ) {
        self.expression = expression
        self.expressionAddress = expressionAddress
        self.file = file
        self.fileAddress = fileAddress
        self.line = line
        self.message = message
    }

    /// "file:line: expression: message", with `<unreadable 0x...>` for a string the host could not read.
    public var description: String {
        let fileText = file ?? "<unreadable \(hex(fileAddress))>"
        let expressionText = expression ?? "<unreadable \(hex(expressionAddress))>"
        let head = "\(fileText):\(line): \(expressionText)"
        return message.isEmpty ? head : "\(head): \(message)"
    }
}

/// An exception the guest did not handle (an UNHANDLED ucall from the harness's exception stubs).
///
/// The fields carry x86-64 names; on arm64 the stubs fill the same four arguments with the vector-table entry
/// (0 to 15: which of current EL with SP_EL0, with SP_ELx, lower EL AArch64 or AArch32, and which of synchronous,
/// IRQ, FIQ, SError), ELR_EL1, ESR_EL1 and FAR_EL1, which `elr`, `esr` and `far` name.
public struct GuestException: Hashable, Sendable, CustomStringConvertible {
    /// The vector (`args[0]`): 6 is #UD, 13 #GP, 14 #PF, ...
    public var vector: UInt64
    /// The RIP of the faulting instruction (`args[1]`).
    public var rip: UInt64
    /// The error code (`args[2]`), 0 for vectors that have none.
    public var errorCode: UInt64
    /// CR2 at the time of the exception (`args[3]`): the faulting address for #PF.
    public var cr2: UInt64

    /// Creates an exception report.
    public init(vector: UInt64, rip: UInt64, errorCode: UInt64 = 0, cr2: UInt64 = 0) {
        self.vector = vector
        self.rip = rip
        self.errorCode = errorCode
        self.cr2 = cr2
    }

    /// arm64: the exception link register (`args[1]`), where the exception was taken.
    public var elr: UInt64 { rip }
    /// arm64: the exception syndrome register (`args[2]`).
    public var esr: UInt64 { errorCode }
    /// arm64: the fault address register (`args[3]`).
    public var far: UInt64 { cr2 }

    #if arch(x86_64)
    /// "#UD", "#GP", "#PF", ...
    public var mnemonic: String { X86Exception.mnemonic(vector) }

    /// "#PF (Page Fault) at RIP 0x..., error code 0x2, CR2 0x...".
    public var description: String {
        var text = "\(mnemonic) (\(X86Exception.name(vector))) at RIP \(hex(rip))"
        if X86Exception.hasErrorCode(vector) { text += ", error code \(hex(errorCode))" }
        if vector == 14 { text += ", CR2 \(hex(cr2)) (\(X86Exception.describePageFaultErrorCode(errorCode)))" }
        return text
    }
    #else
    /// The vector-table entry's name: "synchronous exception from the current EL on SP_EL0", ...
    public var mnemonic: String {
        let kinds = ["synchronous exception", "IRQ", "FIQ", "SError"]
        let origins = ["the current EL on SP_EL0", "the current EL on SP_ELx", "a lower EL in AArch64",
                       "a lower EL in AArch32"]
        guard vector < 16 else { return "vector-table entry \(vector)" }
        return "\(kinds[Int(vector % 4)]) from \(origins[Int(vector / 4)])"
    }

    /// "synchronous exception from the current EL on SP_EL0 at ELR 0x...: data abort ..., FAR 0x..., ESR 0x...".
    public var description: String {
        "\(mnemonic) at ELR \(hex(elr)): \(ExceptionSyndrome(rawValue: esr)), FAR \(hex(far)), ESR \(hex(esr))"
    }
    #endif
}

/// A decoded ucall.
public enum Ucall: Hashable, Sendable, CustomStringConvertible {
    /// `UCALL_NONE`.
    case none(UcallArguments)
    /// `UCALL_SYNC`: by convention `args[0]` is the stage (GUEST_SYNC), the rest values (GUEST_SYNC_ARGS).
    case sync(UcallArguments)
    /// `UCALL_ABORT`: a failed guest assertion.
    case abort(GuestAssertion)
    /// `UCALL_PRINTF`: one line of guest output.
    case printf(String)
    /// `UCALL_DONE`.
    case done
    /// `UCALL_UNHANDLED`: an exception the guest did not handle.
    case unhandled(GuestException)
    /// A `cmd` this library does not know, kept raw.
    case unknown(command: UInt64, arguments: UcallArguments)
    /// A host call the host answered (`GUEST_CALL_HOST`, a handler registered for `command`), with the arguments
    /// the guest sent; the answer went back into the guest.
    case hostCall(command: UInt64, arguments: UcallArguments)

    /// `SYNC` with `args[0] = stage` and the values after it, the rest zero: what `GUEST_SYNC_ARGS` sends.
    public static func sync(stage: UInt64, _ values: UInt64...) -> Ucall {
        .sync(UcallArguments([stage] + values))
    }

    /// The command.
    public var command: UcallCommand {
        switch self {
        case .none: return .none
        case .sync: return .sync
        case .abort: return .abort
        case .printf: return .printf
        case .done: return .done
        case .unhandled: return .unhandled
        case .unknown(let command, _), .hostCall(let command, _): return UcallCommand(rawValue: command)
        }
    }

    /// Whether the guest failed (ABORT or UNHANDLED).
    public var isFailure: Bool {
        switch self {
        case .abort, .unhandled: return true
        default: return false
        }
    }

    /// One line: "SYNC [0x1, 0x10]", "HOST_CALL(0x100) [0x2]", "ABORT file.c:12: x == y: ...", "PRINTF \"text\"".
    public var description: String {
        switch self {
        case .none(let args): return "NONE \(args)"
        case .sync(let args): return "SYNC \(args)"
        case .abort(let assertion): return "ABORT \(assertion)"
        case .printf(let text): return "PRINTF \(text.debugDescription)"
        case .done: return "DONE"
        case .unhandled(let exception): return "UNHANDLED \(exception)"
        case .unknown(let command, let args): return "UNKNOWN(\(command)) \(args)"
        case .hostCall(let command, let args): return "HOST_CALL(\(hex(command))) \(args)"
        }
    }
}
