package vch

import "context"

// Inspect finds the VCH o names with its pool's limits and how clients reach it (the certificate folder is
// o.CertPath, by default ./<name>).
func (m *Manager) Inspect(ctx context.Context, o InspectOptions) (*Inspection, error) {
	ctx, _, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	tlsm, err := loadTLS(v, o.CertPath, nil)
	if err != nil {
		return nil, err
	}
	in := &Inspection{VCH: v, Access: tlsm.access(v.Name, v.Status)}
	if v.Pool != nil {
		if cpu, mem, err := poolLimits(ctx, v.Pool); err == nil {
			in.Limits = &Limits{CPUMHz: cpu, MemoryMB: mem}
		}
	}
	return in, nil
}
