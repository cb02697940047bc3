internal import CKVM

/// The signal that kicks vCPU threads out of KVM_RUN, with a do-nothing handler installed once per process.
enum KickSignal {
    /// The signal number (a real-time signal, see `ckvm_kick_signal`).
    static let number: Int32 = ckvm_kick_signal()

    private static let installed: Bool = { ckvm_install_kick_handler() == 0 }()

    /// Installs the handler the first time it is called.
    static func installOnce() { _ = installed }
}
