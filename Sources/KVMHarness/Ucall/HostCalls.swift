internal import KVMHarnessGuest

/// A host call: a ucall that the host answers before the vCPU resumes (`GUEST_CALL_HOST` in `host_call.h`).
///
/// A handler registered with `VirtualMachine.answerHostCalls(_:with:)` gets the call's seven arguments and the
/// caller's buffer, and may change both: what changed is written back into the guest's struct and buffer, through
/// the guest's page tables with the checks of the guest's own access, before the vCPU runs again.
public struct HostCall: Sendable {
    /// The first command number for a test's own host calls (`UCALL_HOST_CALL_FIRST`, 0x100); the harness's
    /// built-in ones are below it.
    public static let firstTestCommand = UInt64(UCALL_HOST_CALL_FIRST)
    /// Built-in: the host's time (`UCALL_HOST_TIME`): answers args[0] = CLOCK_REALTIME, args[1] = CLOCK_MONOTONIC,
    /// in nanoseconds.
    public static let timeCommand = UInt64(UCALL_HOST_TIME)
    /// Built-in: echo (`UCALL_HOST_ECHO`): answers each argument inverted (`~x`) and the buffer reversed.
    public static let echoCommand = UInt64(UCALL_HOST_ECHO)
    /// The longest buffer the host takes (`UCALL_HOST_CALL_MAX_BUFFER`, 1 MiB).
    public static let maximumBufferLength = UInt64(UCALL_HOST_CALL_MAX_BUFFER)

    /// The command.
    public let command: UInt64
    /// The index of the vCPU that made the call.
    public let vcpu: Int
    /// The seven arguments: the guest's on entry, the answer on return (the guest's call returns `arguments[0]`).
    public var arguments: UcallArguments
    /// The caller's buffer (empty if it passed none). A handler may change its bytes but not its length.
    public var buffer: [UInt8]

    /// A call as a handler receives it.
    public init(command: UInt64, vcpu: Int, arguments: UcallArguments, buffer: [UInt8] = []) {
        self.command = command
        self.vcpu = vcpu
        self.arguments = arguments
        self.buffer = buffer
    }
}

/// Answers a host call: reads `call`, changes its arguments and buffer to the answer. Runs on the vCPU's thread while
/// the vCPU waits; a throw fails the vCPU with an ABORT at the guest's call site (its file and line).
public typealias HostCallHandler = @Sendable (_ call: inout HostCall) throws -> Void

extension HostCall {
    /// The built-in handlers, which every VM has until a test replaces them: `timeCommand` and `echoCommand`.
    static let builtInHandlers: [UInt64: HostCallHandler] = [
        timeCommand: { call in
            call.arguments[0] = realtimeNanoseconds()
            call.arguments[1] = monotonicNanoseconds()
        },
        echoCommand: { call in
            for index in call.arguments.indices { call.arguments[index] = ~call.arguments[index] }
            call.buffer.reverse()
        },
    ]
}

/// The host-call handlers of one VM, shared by its vCPUs (each looks its command up on its own thread).
final class HostCallTable: Sendable {
    private let handlers = Locked(HostCall.builtInHandlers)

    /// The handler for `command`, if any.
    func handler(for command: UInt64) -> HostCallHandler? { handlers.withLock { $0[command] } }

    /// Sets (or, with nil, removes) the handler for `command`.
    func setHandler(_ handler: HostCallHandler?, for command: UInt64) { handlers.withLock { $0[command] = handler } }
}

extension VirtualMachine {
    /// Answers host call `command` with `handler` from now on, on every vCPU (replacing any handler it had,
    /// a built-in one too).
    ///
    /// The guest makes the call with `GUEST_CALL_HOST(command, ...)` or `GUEST_CALL_HOST_BUFFER(command, buffer,
    /// length, ...)`; a test's own commands start at `HostCall.firstTestCommand` (0x100). The run records the call as
    /// `Ucall.hostCall` with the guest's arguments, and goes on.
    public func answerHostCalls(_ command: UInt64, with handler: @escaping HostCallHandler) {
        state.hostCalls.setHandler(handler, for: command)
    }

    /// Stops answering host call `command`: from now on it arrives as an unknown ucall, unanswered.
    public func stopAnsweringHostCalls(_ command: UInt64) { state.hostCalls.setHandler(nil, for: command) }
}

/// Answering one host call over any guest memory. Pure: no ioctls, so it is tested on plain buffers.
package enum HostCallAnswer {
    /// A host call read from the guest, waiting for its handler: what `take` read and `give` needs.
    package struct Taken {
        /// The call as the handler receives it.
        package var call: HostCall
        /// The guest's arguments and buffer as read, to write back only what the handler changed.
        let original: HostCall
        /// Where the struct and the buffer are.
        let gva: UInt64, bufferGVA: UInt64
        /// The guest's call site, for an ABORT if the handler fails.
        let fileAddress: UInt64, line: UInt64
    }

    /// Reads, runs `handler` on, and answers the host call at `gva` over one view of guest memory: `take`, the
    /// handler, then `give`. (A vCPU runs the handler between the two with the memslot table unlocked.)
    ///
    /// - Throws: `.malformedUcall` for a buffer that is too long, not mapped, outside guest memory, on a
    ///   supervisor-only page for a call from user mode, or an answer that lands on a read-only page.
    package static func answer<M>(
        command: UInt64, arguments: UcallArguments, gva: UInt64, vcpu: Int, memory: GuestVirtualMemory<M>,
        handler: HostCallHandler
    ) throws(KVMError) -> Ucall {
        var taken = try take(command: command, arguments: arguments, gva: gva, vcpu: vcpu, memory: memory)
        let problem = run(handler, on: &taken)
        return try give(taken, problem: problem, memory: memory)
    }

    /// Reads the host call at `gva`: its buffer's address and length, the call site, and the buffer.
    package static func take<M>(
        command: UInt64, arguments: UcallArguments, gva: UInt64, vcpu: Int, memory: GuestVirtualMemory<M>
    ) throws(KVMError) -> Taken {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // struct ucall_host_call
        let wordsGVA = gva &+ UInt64(UcallDecoder.bufferOffset)
        // SAFETY: `words` is 32 bytes (`struct ucall_host_call`), exactly what is read into it, and lives across
        // the call.
        let failure = withUnsafeMutableBytes(of: &words) {
            memory.read(gva: wordsGVA, into: $0.baseAddress!, count: 32)
        }
        if let failure { throw .malformedUcall(MalformedUcall(failure, pointer: gva, memory: M.self)) }
        let bufferGVA = UInt64(littleEndian: words.0)
        let length = UInt64(littleEndian: words.1)
        guard length <= HostCall.maximumBufferLength else {
            throw .malformedUcall(.hostCallBufferTooLong(length: length))
        }
        var buffer = [UInt8](repeating: 0, count: Int(length))
        if length > 0 {
            // SAFETY: `buffer` has `length` bytes, exactly what is read into it.
            let failure = buffer.withUnsafeMutableBytes {
                memory.read(gva: bufferGVA, into: $0.baseAddress!, count: Int(length))
            }
            if let failure { throw .malformedUcall(replyError(failure)) }
        }
        let call = HostCall(command: command, vcpu: vcpu, arguments: arguments, buffer: buffer)
        return Taken(
            call: call, original: call, gva: gva, bufferGVA: bufferGVA, fileAddress: UInt64(littleEndian: words.2),
            line: UInt64(littleEndian: words.3))
    }

    /// Runs `handler` on the taken call; returns what went wrong (it threw, or changed the buffer's length), if
    /// anything.
    package static func run(_ handler: HostCallHandler, on taken: inout Taken) -> String? {
        do {
            try handler(&taken.call)
        } catch {
            return "the host's handler threw: \(error)"
        }
        let before = taken.original.buffer.count
        guard taken.call.buffer.count == before else {
            return "the host's handler changed the buffer's length from \(before) to \(taken.call.buffer.count) "
                + "bytes; it may change the bytes only"
        }
        return nil
    }

    /// Writes back what the handler changed, and returns what the run records: the call as the guest made it, or an
    /// ABORT at the guest's call site for `problem`.
    package static func give<M>(_ taken: Taken, problem: String?, memory: GuestVirtualMemory<M>) throws(KVMError)
        -> Ucall
    {
        let original = taken.original
        if let problem {
            return .abort(
                GuestAssertion(
                    expression: "host call \(hex(original.command))",
                    file: memory.readCString(gva: taken.fileAddress, maximumLength: UcallDecoder.maximumStringLength),
                    fileAddress: taken.fileAddress, line: taken.line, message: problem))
        }
        let call = taken.call
        if call.arguments != original.arguments {
            var answer = (
                call.arguments[0].littleEndian, call.arguments[1].littleEndian, call.arguments[2].littleEndian,
                call.arguments[3].littleEndian, call.arguments[4].littleEndian, call.arguments[5].littleEndian,
                call.arguments[6].littleEndian)
            // SAFETY: `answer` is the 56 bytes written, and lives across the call.
            let failure = withUnsafeBytes(of: &answer) {
                memory.write(gva: taken.gva &+ 8, from: $0.baseAddress!, count: 56)
            }
            if let failure { throw .malformedUcall(replyError(failure)) }
        }
        if call.buffer != original.buffer {
            // SAFETY: `run` refused a changed length, so `call.buffer` has the buffer's length in bytes.
            let failure = call.buffer.withUnsafeBytes {
                memory.write(gva: taken.bufferGVA, from: $0.baseAddress!, count: call.buffer.count)
            }
            if let failure { throw .malformedUcall(replyError(failure)) }
        }
        return .hostCall(command: original.command, arguments: original.arguments)
    }

    /// The error for a failed access to a host call's buffer or answer.
    private static func replyError<M>(_ failure: GuestVirtualMemory<M>.Failure) -> MalformedUcall {
        switch failure {
        case .unmapped(let gva): return .replyOutsideMemory(gva: gva, gpa: nil)
        case .outsideMemory(let gva, let gpa): return .replyOutsideMemory(gva: gva, gpa: gpa)
        case .supervisorOnly(let gva): return .supervisorOnlyPage(gva: gva)
        case .readOnly(let gva): return .readOnlyPage(gva: gva)
        case .invalidPageTables(let gva, let problem): return .invalidPageTables(address: gva, problem)
        }
    }
}
