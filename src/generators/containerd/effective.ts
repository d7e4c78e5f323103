// Reads the CRI settings that matter to us out of a parsed containerd config of either schema version: our own
// rendered files in the unit tests, and `containerd config dump` output in the tools tier (or on a live host, to
// verify what containerd actually runs with after imports).
import { CRI_V2, CRI_V3_IMAGES, CRI_V3_RUNTIME } from './containerd.js';

// Parsed TOML: plain nested objects.
type Toml = Record<string, any>;

export interface EffectiveCri {
  sandbox: unknown;
  defaultRuntime: unknown;
  runcSystemd: unknown;
  nvidia: { runtimeType: unknown; binary: unknown; systemd: unknown } | undefined;
  configPath: unknown;
}

export function effectiveCri(cfg: Toml): EffectiveCri {
  const p: Toml = cfg.plugins ?? {};
  const v3 = cfg.version === 3;
  const images = v3 ? p[CRI_V3_IMAGES] : p[CRI_V2];
  const runtime = v3 ? p[CRI_V3_RUNTIME] : p[CRI_V2];
  const rts: Toml = runtime?.containerd?.runtimes ?? {};
  return {
    sandbox: v3 ? images?.pinned_images?.sandbox : images?.sandbox_image,
    defaultRuntime: runtime?.containerd?.default_runtime_name,
    runcSystemd: rts.runc?.options?.SystemdCgroup,
    nvidia: rts.nvidia
      ? { runtimeType: rts.nvidia.runtime_type, binary: rts.nvidia.options?.BinaryName, systemd: rts.nvidia.options?.SystemdCgroup }
      : undefined,
    configPath: images?.registry?.config_path,
  };
}

/** containerd < 2.1 imports: a drop-in replaces, as a whole, every plugin section it names (facts.md #4). */
export function importReplacing(main: Toml, dropIn: Toml): Toml {
  return { ...main, plugins: { ...main.plugins, ...dropIn.plugins } };
}
