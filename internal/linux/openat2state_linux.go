package linux

// Openat2KnownBroken reports, without making a system call, whether an
// earlier [HasOpenat2] probe found openat2(2) unusable. Hot paths call it to
// pick a resolver, try openat2, and only after a failure call [HasOpenat2]
// to tell "the kernel said no" from "this error is the real answer"
// (the rule libpathrs follows since 0.2.2; cyphar/libpathrs: src/resolvers.rs).
func Openat2KnownBroken() bool { return openat2Broken.Load() }
