# paging/: the one 4-level page-table builder, entry formats as data (host,
# EPT, NPT, VT-d, AMD-Vi). Pure C: the loader, the core, iommu/ and the host
# tests build the same file; it includes nothing from hv/ or iommu/.
PAGING_SRCS := paging/paging.c

HV_SRCS += $(PAGING_SRCS)

$(eval $(call host_test,test_paging,tests/unit/test_paging.c $(PAGING_SRCS)))
