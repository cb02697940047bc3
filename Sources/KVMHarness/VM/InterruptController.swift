internal import CKVM

/// Which interrupt controller a VM has in the kernel, chosen when it is made (`Configuration.interruptController`).
///
/// With a local APIC in the kernel (`.split` or `.full`), a guest HLT waits in the kernel until an interrupt
/// arrives (an IPI, the APIC timer, an injected one), as on hardware; without one (`.none`) KVM hands every HLT to
/// the host as a `KVM_EXIT_HLT` exit, which ends a `run()` as a failure.
public enum InterruptController: String, Sendable, CaseIterable {
    /// No in-kernel interrupt controller: HLT exits to the host; interrupts are injected with
    /// `VCPU.injectInterrupt(vector:)` (`KVM_INTERRUPT`).
    case none
    /// Local APICs in the kernel, the IOAPIC and PIC left to user space (`KVM_CAP_SPLIT_IRQCHIP`, with 24 IOAPIC
    /// routes reserved). The default: IPIs, the APIC timer, MSIs and halting work, and making it costs almost
    /// nothing, where `.full` adds about 15 ms to every VM on the machines this project runs on.
    case split
    /// The local APICs, an IOAPIC and the two PICs in the kernel (`KVM_CREATE_IRQCHIP`), as the kernel selftests'
    /// VMs have: what `setIRQLine(_:high:)` needs.
    case full

    /// Whether vCPUs get an in-kernel local APIC.
    public var hasLocalAPIC: Bool { self != .none }
}

extension VirtualMachine {
    /// The interrupt controller the VM has in the kernel.
    public var interruptController: InterruptController { state.interruptController }

    /// Makes the interrupt controller `kind` (nothing for `.none`); vCPUs made afterwards get a local APIC.
    func setUpInterruptController(_ kind: InterruptController) throws(KVMError) {
        switch kind {
        case .none:
            return
        case .full:
            try createInterruptController()
        case .split:
            try createSplitInterruptController()
        }
    }

    /// Creates local APICs in the kernel with the IOAPIC and PIC left to user space (`KVM_ENABLE_CAP` of
    /// `KVM_CAP_SPLIT_IRQCHIP`, reserving `ioapicRoutes` GSI routes for a user-space IOAPIC). Call it before adding
    /// vCPUs, on a VM made with `interruptController: .none`.
    ///
    /// - Throws: `.invalidArgument` once vCPUs exist or with an interrupt controller already;
    ///   `.ioctlFailed("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) on the VM")` with KVM's errno.
    public func createSplitInterruptController(ioapicRoutes: Int = 24) throws(KVMError) {
        try requireNoInterruptControllerYet()
        guard (0...256).contains(ioapicRoutes) else {
            throw .invalidArgument("a split interrupt controller reserves 0 to 256 IOAPIC routes, not \(ioapicRoutes)")
        }
        try enableCapability(.splitIRQChip, arguments: [UInt64(ioapicRoutes)])
        state.interruptController = .split
    }

    /// Creates the in-kernel interrupt controller: an IOAPIC, the PICs and a local APIC in every vCPU created after
    /// it (`KVM_CREATE_IRQCHIP`). Call it before adding vCPUs, on a VM made with `interruptController: .none`.
    ///
    /// - Throws: `.invalidArgument` once vCPUs exist or with an interrupt controller already;
    ///   `.ioctlFailed("KVM_CREATE_IRQCHIP")` with KVM's errno.
    public func createInterruptController() throws(KVMError) {
        try requireNoInterruptControllerYet()
        _ = try kvmIoctl(state.fd, CKVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP")
        state.interruptController = .full
    }

    private func requireNoInterruptControllerYet() throws(KVMError) {
        guard vcpus.isEmpty else {
            throw .invalidArgument("create the interrupt controller before the VM's vCPUs (it has \(vcpus.count))")
        }
        guard state.interruptController == .none else {
            throw .invalidArgument("the VM already has an in-kernel interrupt controller (\(state.interruptController)):"
                + " make it with Configuration(interruptController: .none) to choose another")
        }
    }

    /// Raises or lowers interrupt line `irq` of the in-kernel IOAPIC and PICs (`KVM_IRQ_LINE_STATUS`; `.full`
    /// only). An edge-triggered interrupt is a raise then a lower.
    ///
    /// - Returns: KVM's status: above 0 if the interrupt was delivered, 0 if it was coalesced or masked, below 0
    ///   if it could not be delivered.
    /// - Throws: `.ioctlFailed("KVM_IRQ_LINE_STATUS")` with KVM's errno (ENXIO without an in-kernel IOAPIC).
    @discardableResult
    public func setIRQLine(_ irq: UInt32, high: Bool) throws(KVMError) -> Int32 {
        var level = kvm_irq_level()
        level.irq = irq
        level.level = high ? 1 : 0
        try kvmIoctl(state.fd, CKVM_IRQ_LINE_STATUS, &level, "KVM_IRQ_LINE_STATUS")
        return level.status
    }

    /// Delivers a message-signalled interrupt, as a device's write of `data` to `address` would
    /// (`KVM_SIGNAL_MSI`). For the local APICs the address is 0xFEE0_0000 | destination APIC ID << 12 and the
    /// data the vector | delivery mode << 8.
    ///
    /// - Returns: KVM's result: above 0 if delivered, 0 if the guest blocked it.
    /// - Throws: `.ioctlFailed("KVM_SIGNAL_MSI")` with KVM's errno (ENODEV without an in-kernel local APIC).
    @discardableResult
    public func signalMSI(address: UInt64, data: UInt32) throws(KVMError) -> Int32 {
        var msi = kvm_msi()
        msi.address_lo = UInt32(truncatingIfNeeded: address)
        msi.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        msi.data = data
        return try kvmIoctl(state.fd, CKVM_SIGNAL_MSI, &msi, "KVM_SIGNAL_MSI")
    }

    /// Replaces the VM's GSI routing table (`KVM_SET_GSI_ROUTING`): each GSI then goes where its routes say.
    ///
    /// - Throws: `.ioctlFailed("KVM_SET_GSI_ROUTING")` with KVM's errno (EINVAL for an IOAPIC or PIC route without
    ///   one in the kernel, or a GSI above the limit).
    public func setGSIRouting(_ routes: [GSIRoute]) throws(KVMError) {
        // `struct kvm_irq_routing` then its entries, as bytes: the entries hold a union, which Swift does not
        // treat as BitwiseCopyable, so FlexibleArray cannot carry them.
        let header = MemoryLayout<kvm_irq_routing>.size
        let stride = MemoryLayout<kvm_irq_routing_entry>.stride
        var buffer = [UInt8](repeating: 0, count: header + routes.count * stride)
        buffer.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(routes.count), toByteOffset: 0, as: UInt32.self)
            for (i, route) in routes.enumerated() {
                // SAFETY: entry i occupies [header + i * stride, + stride), inside the buffer sized for all of them.
                withUnsafeBytes(of: route.entry) { entry in
                    UnsafeMutableRawBufferPointer(rebasing: bytes[(header + i * stride)...]).copyMemory(from: entry)
                }
            }
        }
        _ = try kvmIoctl(state.fd, CKVM_SET_GSI_ROUTING, &buffer, "KVM_SET_GSI_ROUTING")
    }

    /// Sets how long one APIC bus cycle lasts, which sets the APIC timer's frequency (`KVM_ENABLE_CAP` of
    /// `KVM_CAP_X86_APIC_BUS_CYCLES_NS`); KVM's default is 1 ns (1 GHz). Before adding vCPUs.
    ///
    /// - Throws: `.ioctlFailed` with EINVAL once vCPUs exist or for 0, ENXIO without an in-kernel local APIC.
    public func setAPICBusCycle(nanoseconds: UInt64) throws(KVMError) {
        try enableCapability(.apicBusCyclesNS, arguments: [nanoseconds])
    }

    /// Turns on KVM's x2APIC API choices for the VM (`KVM_ENABLE_CAP` of `KVM_CAP_X2APIC_API`):
    /// `KVM_X2APIC_API_USE_32BIT_IDS` makes `KVM_GET/SET_LAPIC` and MSIs carry 32-bit x2APIC IDs,
    /// `KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK` makes 0xFF a plain ID in x2APIC mode.
    public func enableX2APICAPI(use32BitIDs: Bool = true, disableBroadcastQuirk: Bool = false) throws(KVMError) {
        let flags =
            (use32BitIDs ? UInt64(KVM_X2APIC_API_USE_32BIT_IDS) : 0)
            | (disableBroadcastQuirk ? UInt64(KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK) : 0)
        try enableCapability(.x2apicAPI, arguments: [flags])
    }

    /// Maps the xAPIC's MMIO page (guest-physical 0xFEE0_0000, where every local APIC starts) at the same virtual
    /// address, so guest code can use the xAPIC accessors of `apic.h`; the kernel selftests'
    /// `virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA)`. Idempotent.
    public func mapXAPIC() throws(KVMError) {
        let base: UInt64 = 0xFEE0_0000
        if case .mapped(let gpa, _, _, _) = translate(base), gpa == base { return }
        try map(gva: base, gpa: base, size: 4096)
    }
}

/// One entry of a VM's GSI routing table (`struct kvm_irq_routing_entry`).
public struct GSIRoute: Sendable {
    /// The GSI it routes.
    public var gsi: UInt32
    /// The kernel's entry.
    var entry: kvm_irq_routing_entry

    /// GSI `gsi` raises `pin` of an in-kernel interrupt controller chip (`KVM_IRQ_ROUTING_IRQCHIP`; `chip` 0 and
    /// 1 are the master and slave PIC, 2 the IOAPIC).
    public static func irqchip(gsi: UInt32, chip: UInt32, pin: UInt32) -> GSIRoute {
        var entry = kvm_irq_routing_entry()
        entry.gsi = gsi
        entry.type = UInt32(KVM_IRQ_ROUTING_IRQCHIP)
        entry.u.irqchip.irqchip = chip
        entry.u.irqchip.pin = pin
        return GSIRoute(gsi: gsi, entry: entry)
    }

    /// GSI `gsi` sends an MSI with `address` and `data` (`KVM_IRQ_ROUTING_MSI`).
    public static func msi(gsi: UInt32, address: UInt64, data: UInt32) -> GSIRoute {
        var entry = kvm_irq_routing_entry()
        entry.gsi = gsi
        entry.type = UInt32(KVM_IRQ_ROUTING_MSI)
        entry.u.msi.address_lo = UInt32(truncatingIfNeeded: address)
        entry.u.msi.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        entry.u.msi.data = data
        return GSIRoute(gsi: gsi, entry: entry)
    }
}
