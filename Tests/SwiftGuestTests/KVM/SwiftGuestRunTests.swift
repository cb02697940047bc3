import KVMHarness
import KVMHarnessTesting
import Testing

// Embedded Swift guest images (Guests/<Name>/, built by the SwiftGuestImages plugin) on real KVM: the ucalls they
// send, their failures at the Swift guest's file and line, and ordinary Swift code giving the host's results.

@Suite("Swift guests on real KVM", .requiresKVM)
struct SwiftGuestRunTests {
    @Test("guestSync values, guestPrint interpolation and both transports arrive in order, then DONE")
    func syncSequence() async throws {
        let vm = try SwiftGuestImage.sync.virtualMachine(argument: 0x5eed)
        let report = await vm.expectRun(ucalls: [
            .sync(stage: 0, 0x5eed),
            .sync(stage: 1, 0x11, 0x12),
            .sync(stage: 2, 0x21, 0x22, 0x23),
            .sync(stage: 3, 55, 110, 165, 220, 275, 330),
            .sync(stage: 4, 0x44),
            .done,
        ])
        #expect(report.vcpus[0].printfLines == [
            "sum = 55, hex 0x37, padded 0x0037, negative -42, text true",
            "over port I/O: -1 is 0xff",
        ])
    }

    @Test("two vCPUs each read their own index through guestEntryArgument")
    func twoVCPUs() async throws {
        let vm = try VirtualMachine(imagePath: SwiftGuestImage.sync.path(), vcpus: 2)
        let report = await vm.run()
        #expect(report.succeeded, "\(report.firstFailure.map { "\($0.outcome)" } ?? "")")
        #expect(report.vcpus.map { $0.ucalls.first } == [.sync(stage: 0, 0), .sync(stage: 0, 1)])
    }

    @Test("a failing guestAssertEqual is an ABORT at the Swift guest's #fileID and line, with both values")
    func assertEqualFails() async throws {
        let source = try GuestSource("Scenarios/Scenarios.swift")
        let line = try source.line(tagged: "assertEqual")
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 1)
        let report = await vm.run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "guestAssertEqual")
        #expect(assertion.file == "Scenarios/Scenarios.swift")
        #expect(assertion.line == UInt64(line))
        #expect(assertion.message == "expected left == right: left = 0x2a (42), right = 0x2b (43)")
        let failures = GuestRunVerdict.failures(of: report)
        #expect(failures.map(\.message) == [
            "guest assertion failed: Scenarios/Scenarios.swift:\(line): guestAssertEqual: "
                + "expected left == right: left = 0x2a (42), right = 0x2b (43)"
        ])

        // In Swift Testing the issue is recorded at the Swift guest's file and line.
        withKnownIssue {
            expectGuestRun(report)
        } matching: { issue in
            issue.sourceLocation?.fileName == "Scenarios.swift" && issue.sourceLocation?.line == line
        }
    }

    @Test("guestAssert sends its expression and interpolated message; guestFail its message")
    func assertAndFail() async throws {
        let source = try GuestSource("Scenarios/Scenarios.swift")
        let expected: [(UInt64, String, String, Int)] = [
            (2, "items == 4", "have 3 items, want 4", try source.line(tagged: "assert")),
            (3, "guestFail", "gave up after 3 tries", try source.line(tagged: "fail")),
        ]
        for (scenario, expression, message, line) in expected {
            let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: scenario)
            let report = await vm.run()
            #expect(report.vcpus[0].outcome == .failed(.abort(GuestAssertion(
                expression: expression, expressionAddress: abortAddresses(report).expression,
                file: "Scenarios/Scenarios.swift", fileAddress: abortAddresses(report).file, line: UInt64(line),
                message: message))))
        }
    }

    @Test("every comparison assertion that holds lets the guest go on, each side evaluated once")
    func passingAssertions() async throws {
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 7)
        await vm.expectRun(ucalls: [.sync(stage: 7, 1), .done])
    }

    @Test("a Swift overflow trap is an unhandled #UD in the guest's code")
    func overflowTrap() async throws {
        let path = try SwiftGuestImage.scenarios.path()
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 4)
        let report = await vm.run()
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(exception.vector == 6)
        let text = try ELFImage(contentsOf: path).segments.first { $0.flags.contains(.executable) }
        let rip = "0x" + String(exception.rip, radix: 16)
        #expect(text?.contains(exception.rip) == true, "RIP \(rip) is in the image's code")
    }

    @Test("a guest-installed #UD handler sees vector 6 and resumes past the UD2")
    func exceptionHandler() async throws {
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 5)
        await vm.expectRun(ucalls: [.sync(stage: 5, 6), .done])
    }

    @Test("running out of guest heap is an ABORT that says how to get more, not a crash")
    func heapExhausted() async throws {
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 6)
        let report = await vm.run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "guest heap")
        #expect(assertion.file == "SwiftGuest/Runtime/runtime.c")
        #expect(assertion.message.hasPrefix("the Swift guest heap is exhausted: build the image with a larger"))
    }

    @Test("a main that returns without guestDone() is an ABORT that says so")
    func mainReturned() async throws {
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 8)
        let report = await vm.run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "main returned")
        #expect(assertion.file == "SwiftGuest/Runtime/runtime.c")
        #expect(assertion.message == "the guest's main returned without calling guestDone()")
        #expect(report.vcpus[0].ucalls.count == 1, "nothing before the ABORT: \(report.vcpus[0].ucalls)")
    }

    @Test("arrays, sorting, Dictionary, Set, String and Double math give the host's results in the guest")
    func workloadMatchesHost() async throws {
        let expected = runWorkload()
        let vm = try SwiftGuestImage.workload.virtualMachine()
        let report = await vm.expectRun(
            ucalls: expected.values.enumerated().map { .sync(stage: UInt64($0.offset + 1), $0.element) } + [.done],
            deadline: .seconds(120))
        #expect(report.vcpus[0].printfLines == [expected.summary])
    }
}

/// The guest-virtual addresses of an ABORT's expression and file strings, which differ between builds.
private func abortAddresses(_ report: RunReport) -> (expression: UInt64, file: UInt64) {
    guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else { return (0, 0) }
    return (assertion.expressionAddress, assertion.fileAddress)
}
