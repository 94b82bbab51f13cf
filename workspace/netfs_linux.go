package workspace

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// NetworkFS reports whether path (or, when it does not exist yet, its
// nearest parent) is on a network file system, and which.
func NetworkFS(path string) (bool, string) {
	var st unix.Statfs_t
	for p := path; ; p = filepath.Dir(p) {
		if unix.Statfs(p, &st) == nil {
			break
		}
		if p == filepath.Dir(p) {
			return false, ""
		}
	}
	switch uint32(st.Type) {
	case unix.NFS_SUPER_MAGIC:
		return true, "NFS"
	case unix.SMB_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC:
		return true, "SMB/CIFS"
	case 0x564c: // NCP
		return true, "NCP"
	case 0x6B414653: // AFS
		return true, "AFS"
	case 0x19830326: // FhGFS/BeeGFS
		return true, "BeeGFS"
	case 0x00c36400: // CephFS
		return true, "CephFS"
	case 0x47504653: // GPFS
		return true, "GPFS"
	}
	return false, ""
}
