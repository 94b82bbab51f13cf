package layout

// SpoolRunBytes lets tests make the spool write many small sorted runs.
var SpoolRunBytes = &spoolRunBytes

// SpoolFanIn lets tests make the spool merge its runs a few at a time.
var SpoolFanIn = &spoolFanIn

// SpoolIndexBytes lets tests make the groupings sort their groups on disk
// rather than look them up in memory.
var SpoolIndexBytes = &spoolIndexBytes
