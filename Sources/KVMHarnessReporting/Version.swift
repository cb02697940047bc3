/// The release this build is, as `kvm-harness --version` prints it. Raise it with each tagged release.
package let kvmHarnessVersion = "0.2.0"
