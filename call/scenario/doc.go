// Package scenario plays scripted call sessions (the file format and its
// decoder live in package spec): several accounts and devices log in, call,
// wait for events with deadlines, accept, reject, cancel, switch the call
// type, hang up, and check call records and quality figures. It prints a
// step-by-step pass/fail report, stops at the first failed step and can
// write a JUnit XML report.
//
// It is client-side logic over the call engine; the engines themselves come
// from a Factory the command passes in, so the same flags (impairment,
// tracing) apply as to the headless commands.
package scenario
