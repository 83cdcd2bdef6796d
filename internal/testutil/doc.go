// Package testutil holds test helpers shared by every package: privilege and
// feature gates that skip with a reason, the host canary that checks the
// invariants of ../shared/reference/threats.md (INV-1 to INV-3), a small tree
// DSL, and re-execution of a test as an unprivileged user or in a user
// namespace.
//
// It is imported only from _test.go files.
package testutil
