"""Evidence that the station itself can be trusted (issue 14): qualification against
reference faces, repeatability studies, the policy that stops an unqualified station,
and the dirty-probe alarm. No Qt; the window and the CLI call these."""
