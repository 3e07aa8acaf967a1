# Builds the Lambda functions for `sam build` (BuildMethod: makefile). Run on Amazon Linux 2 or
# 2023 (or `sam build --use-container` with a Swift image for it), so the binary matches the runtime's
# glibc. The Swift runtime is linked statically; libcurl and zlib come with the Lambda OS, and
# libturbojpeg is copied beside the binary (Lambda puts /var/task/lib on LD_LIBRARY_PATH).
SWIFT_FLAGS = -c release --static-swift-stdlib -Xlinker -s

define build_function
	swift build $(SWIFT_FLAGS) --product $(1)
	mkdir -p $(ARTIFACTS_DIR)/lib
	cp "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/$(1)" $(ARTIFACTS_DIR)/bootstrap
	for lib in $$(ldd $(ARTIFACTS_DIR)/bootstrap | awk '/turbojpeg/ {print $$3}'); do cp -L "$$lib" $(ARTIFACTS_DIR)/lib/; done
endef

build-PieceStorageFunction:
	$(call build_function,piece-storage)

build-PictureProcessorFunction:
	$(call build_function,picture-processor)

build-PictureApiFunction:
	$(call build_function,picture-api)
