// A stand-alone guest in Embedded Swift, next to the C ones in Examples/images/: build and run it with
//
//   bash scripts/build-swift-guest.sh .build/guest-images/hello.elf Examples/SwiftGuests/Hello
//   swift run kvm-harness run .build/guest-images/hello.elf --vcpus 2
//
// Every vCPU runs this top-level code, so what it computes stays in locals; guestEntryArgument is the vCPU index.
func hello() {
    let primes = [2, 3, 5, 7, 11, 13, 17, 19].filter { $0 > 4 }
    let sum = primes.reduce(0, +)
    guestSync(1, UInt64(primes.count), UInt64(sum))
    guestPrint("hello from vCPU \(guestEntryArgument): \(primes.count) primes above 4, sum \(sum), \(hex: sum)")
    guestAssertEqual(sum, 72)
}

hello()
guestDone()
