package vch

import (
	"encoding/json"

	"github.com/vice-engine/vice/installer/vchwire"
)

// applianceConfig is the endpoint's vchwire.KeyAppliance value for a validated create, the target's
// password sealed to pub, the new endpoint's key.
func (plan *createPlan) applianceConfig(s *Session, pub *vchwire.PublicKey) (vchwire.ApplianceConfig, error) {
	o := plan.o
	target, password, err := vchwire.SealTarget(pub, s.Target.SDKWithCredentials())
	if err != nil {
		return vchwire.ApplianceConfig{}, err
	}
	cfg := vchwire.ApplianceConfig{
		Name:                o.Name,
		Version:             plan.app.Version,
		Target:              target,
		TargetPassword:      password,
		Thumbprint:          s.Thumbprint,
		Datacenter:          plan.p.Datacenter.InventoryPath,
		ComputeResource:     plan.p.Compute.InventoryPath,
		Pool:                plan.poolPath(),
		ImageStore:          plan.store.Name(),
		BridgeNetwork:       o.BridgeNetwork,
		BridgeNetworkRange:  o.BridgeNetworkRange,
		PublicNetwork:       o.PublicNetwork,
		ClientNetwork:       o.ClientNetwork,
		ManagementNetwork:   o.ManagementNetwork,
		ContainerNetworks:   plan.containerNetworks,
		DNS:                 o.DNS,
		InsecureRegistries:  o.InsecureRegistries,
		RegistryMirrors:     o.RegistryMirrors,
		WhitelistRegistries: o.WhitelistRegistries,
		RegistryCAs:         plan.registryCAs,
		TLS:                 plan.mode,
		Debug:               o.Debug,
		Backend:             o.Backend,
		Plugins:             plan.app.registration(o.Backend),
	}
	if len(plan.volumes) > 0 {
		cfg.VolumeStores = map[string]string{}
		for _, v := range plan.volumes {
			cfg.VolumeStores[v.Label] = v.URL()
		}
	}
	return cfg, nil
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are encoded here
	}
	return string(data)
}
