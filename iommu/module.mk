# iommu/: the IOMMU provider registry (include/minihv/iommu.h), the DMAR
# and IVRS parsers, and the VT-d and AMD-Vi providers. Pure C over register
# and memory callbacks: built into the core, the host tests and fuzzers.
IOMMU_SRCS := iommu/iommu.c iommu/dmar.c iommu/ivrs.c iommu/domain.c iommu/vtd.c iommu/amdvi.c

HV_SRCS += $(IOMMU_SRCS)

# Host builds link what the core gets from lib/ and paging/paging.c.
IOMMU_HOST_SRCS := $(IOMMU_SRCS) paging/paging.c lib/format.c

$(eval $(call host_test,test_iommu_registry,tests/unit/test_iommu_registry.c $(IOMMU_HOST_SRCS)))
$(eval $(call host_test,test_iommu_dmar,tests/unit/test_iommu_dmar.c $(IOMMU_HOST_SRCS)))
$(eval $(call host_test,test_iommu_ivrs,tests/unit/test_iommu_ivrs.c $(IOMMU_HOST_SRCS)))
$(eval $(call host_test,test_iommu_vtd,tests/unit/test_iommu_vtd.c $(IOMMU_HOST_SRCS)))
$(eval $(call host_test,test_iommu_amdvi,tests/unit/test_iommu_amdvi.c $(IOMMU_HOST_SRCS)))

$(eval $(call fuzz_target,fuzz_dmar,tests/fuzz/fuzz_dmar.c iommu/dmar.c))
$(eval $(call fuzz_target,fuzz_ivrs,tests/fuzz/fuzz_ivrs.c iommu/ivrs.c))
