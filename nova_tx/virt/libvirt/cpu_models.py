"""CPU features as placement traits, and the guest CPU model that provides the required
ones (spec/E §5.10; Nova's ``libvirt_utils.CPU_TRAITS_MAPPING`` and
``LibvirtDriver._match_cpu_model_by_flags``).

With ``[libvirt] cpu_mode = custom`` the guest gets the first of ``cpu_models`` (oldest
first) whose features include every ``HW_CPU_X86_*`` trait the flavor or image requires;
without required traits, the first model. A model's features come from libvirt
(``baselineCPU`` with ``EXPAND_FEATURES``), read through the driver's pool.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["CPU_TRAITS_MAPPING", "choose_cpu_model", "features_to_traits",
           "model_features", "required_cpu_traits"]

# libvirt feature name -> os-traits name.
CPU_TRAITS_MAPPING = {
    "3dnow": "HW_CPU_X86_3DNOW", "abm": "HW_CPU_X86_ABM", "aes": "HW_CPU_X86_AESNI",
    "avx": "HW_CPU_X86_AVX", "avx2": "HW_CPU_X86_AVX2",
    "avx512bw": "HW_CPU_X86_AVX512BW", "avx512cd": "HW_CPU_X86_AVX512CD",
    "avx512dq": "HW_CPU_X86_AVX512DQ", "avx512er": "HW_CPU_X86_AVX512ER",
    "avx512f": "HW_CPU_X86_AVX512F", "avx512pf": "HW_CPU_X86_AVX512PF",
    "avx512vl": "HW_CPU_X86_AVX512VL", "avx512vnni": "HW_CPU_X86_AVX512VNNI",
    "avx512vbmi": "HW_CPU_X86_AVX512VBMI", "avx512ifma": "HW_CPU_X86_AVX512IFMA",
    "avx512vpopcntdq": "HW_CPU_X86_AVX512VPOPCNTDQ", "avx512vbmi2": "HW_CPU_X86_AVX512VBMI2",
    "avx512bitalg": "HW_CPU_X86_AVX512BITALG", "vaes": "HW_CPU_X86_AVX512VAES",
    "gfni": "HW_CPU_X86_AVX512GFNI", "vpclmulqdq": "HW_CPU_X86_AVX512VPCLMULQDQ",
    "bmi1": "HW_CPU_X86_BMI", "bmi2": "HW_CPU_X86_BMI2", "pclmuldq": "HW_CPU_X86_CLMUL",
    "f16c": "HW_CPU_X86_F16C", "fma": "HW_CPU_X86_FMA3", "fma4": "HW_CPU_X86_FMA4",
    "mmx": "HW_CPU_X86_MMX", "mpx": "HW_CPU_X86_MPX", "sha-ni": "HW_CPU_X86_SHA",
    "sse": "HW_CPU_X86_SSE", "sse2": "HW_CPU_X86_SSE2", "sse3": "HW_CPU_X86_SSE3",
    "sse4.1": "HW_CPU_X86_SSE41", "sse4.2": "HW_CPU_X86_SSE42", "sse4a": "HW_CPU_X86_SSE4A",
    "ssse3": "HW_CPU_X86_SSSE3", "svm": "HW_CPU_X86_SVM", "tbm": "HW_CPU_X86_TBM",
    "vmx": "HW_CPU_X86_VMX", "xop": "HW_CPU_X86_XOP",
}
_TRAIT_FEATURES = {trait: feature for feature, trait in CPU_TRAITS_MAPPING.items()}


def features_to_traits(features: Iterable[str]) -> set[str]:
    return {CPU_TRAITS_MAPPING[f] for f in features if f in CPU_TRAITS_MAPPING}


def required_cpu_traits(extra_specs: Mapping[str, Any], image_props: Mapping[str, Any]
                        ) -> set[str]:
    """The CPU-feature traits a flavor (``trait:HW_CPU_X86_AVX2=required``) or image
    requires."""
    required = set()
    for source in (extra_specs, image_props):
        for key, value in source.items():
            if key.startswith("trait:") and str(value) == "required":
                trait = key[len("trait:"):]
                if trait in _TRAIT_FEATURES:
                    required.add(trait)
    return required


def model_features(conn: Any, arch: str | None, model: str) -> set[str]:
    """Every feature libvirt says ``model`` has (blocking: call it in the pool)."""
    import libvirt

    arch_el = f"<arch>{arch}</arch>" if arch else ""
    text = conn.baselineCPU([f"<cpu>{arch_el}<model>{model}</model></cpu>"],
                            libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
    root = ET.fromstring(text)
    return {f.get("name") for f in root.iterfind("feature")
            if f.get("policy", "require") == "require"}


def choose_cpu_model(models: list[str], required_traits: set[str],
                     features_of: Callable[[str], set[str]]) -> str | None:
    """The first model providing every required trait; the first model without
    required traits; None when no model provides them."""
    if not models:
        return None
    if not required_traits:
        return models[0]
    wanted = {_TRAIT_FEATURES[t] for t in required_traits}
    for model in models:
        if wanted <= features_of(model):
            return model
    return None
