internal import CKVM

/// Dirty logging by bitmap: `KVM_GET_DIRTY_LOG`, and `KVM_CLEAR_DIRTY_LOG` with
/// `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`. The slot must have `.logDirtyPages`. Both may run on any thread while vCPUs
/// run (KVM serializes them against the vCPUs' faults).
extension VirtualMachine {
    /// Turns on manual dirty-log protection (`KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`): `dirtyLog(slot:)` no longer
    /// write-protects what it reports, `clearDirtyLog` does. With `initiallySet`, every page of a newly logged slot
    /// starts dirty (`KVM_DIRTY_LOG_INITIALLY_SET`), where KVM offers it.
    ///
    /// - Throws: `.missingCapability` where KVM lacks it; `.ioctlFailed` with KVM's errno.
    public func enableManualDirtyLogProtection(initiallySet: Bool = false) throws(KVMError) {
        let offered = UInt64(kvm.check(.manualDirtyLogProtect2))
        guard offered != 0 else { throw .missingCapability(.manualDirtyLogProtect2) }
        let wanted = UInt64(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) | (initiallySet ? UInt64(KVM_DIRTY_LOG_INITIALLY_SET) : 0)
        try enableCapability(.manualDirtyLogProtect2, arguments: [wanted & offered])
    }

    /// The pages of `slot` the guest wrote since the last call (`KVM_GET_DIRTY_LOG`); without manual protection
    /// KVM also clears the log and write-protects the pages again.
    ///
    /// - Throws: `.invalidArgument` for no such slot; `.ioctlFailed` with KVM's errno (ENOENT when the slot does
    ///   not log dirty pages).
    public func dirtyLog(slot number: UInt32) throws(KVMError) -> DirtyBitmap {
        let pages = try pageCount(of: number)
        var words = [UInt64](repeating: 0, count: (pages + 63) / 64)
        // SAFETY: KVM writes ceil(pages / 64) words, the slot's size in pages, which is what `words` holds; the
        // pointer lives for the call only.
        let failure = words.withUnsafeMutableBytes { buffer -> KVMError? in
            var log = kvm_dirty_log()
            log.slot = number
            log.dirty_bitmap = buffer.baseAddress
            do throws(KVMError) {
                try kvmIoctl(state.fd, CKVM_GET_DIRTY_LOG, &log, "KVM_GET_DIRTY_LOG (slot \(number))")
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
        return DirtyBitmap(pageCount: pages, words: words)
    }

    /// Clears the dirty bits and write-protects again the pages set in `bitmap`, which covers `bitmap.pageCount`
    /// pages of `slot` from `firstPage` (`KVM_CLEAR_DIRTY_LOG`). KVM wants `firstPage` a multiple of 64 and the
    /// range to end at a multiple of 64 or at the slot's end.
    public func clearDirtyLog(slot number: UInt32, firstPage: Int = 0, _ bitmap: DirtyBitmap) throws(KVMError) {
        var words = bitmap.words
        // SAFETY: KVM reads ceil(num_pages / 64) words, which `words` holds; the pointer lives for the call only.
        let failure = words.withUnsafeMutableBytes { buffer -> KVMError? in
            var clear = kvm_clear_dirty_log()
            clear.slot = number
            clear.num_pages = UInt32(bitmap.pageCount)
            clear.first_page = UInt64(firstPage)
            clear.dirty_bitmap = buffer.baseAddress
            do throws(KVMError) {
                try kvmIoctl(state.fd, CKVM_CLEAR_DIRTY_LOG, &clear, "KVM_CLEAR_DIRTY_LOG (slot \(number))")
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
    }

    /// The size in pages of slot `number`.
    func pageCount(of number: UInt32) throws(KVMError) -> Int {
        guard let slot = memslots.slot(numbered: number) else { throw .invalidArgument("there is no memslot \(number)") }
        return Int(slot.size / 4096)
    }
}
