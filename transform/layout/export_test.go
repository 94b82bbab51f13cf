package layout

// SpoolRunBytes lets tests make the spool write many small sorted runs.
var SpoolRunBytes = &spoolRunBytes
