# Builds the Lambda functions for `sam build` (BuildMethod: makefile): sam runs build-<LogicalId> with
# ARTIFACTS_DIR set. scripts/package --sam does the work, the same way `scripts/package RUNTIME` does:
#  - where this machine builds provided.al2023 itself (x86_64 Debian or Ubuntu with glibc 2.34 or
#    newer, or Amazon Linux 2023), it builds the function right there with the ship flags
#    (`scripts/package --swift-flags`: release, Swift runtime linked statically, stripped,
#    position-dependent, scripts/ld-lambda as the linker, which binds it to glibc 2.34 and an
#    unversioned libcurl) into ARTIFACTS_DIR: bootstrap, and lib/ with every library the runtime
#    lacks (libturbojpeg for picture-processor);
#  - anywhere else (arm64, provided.al2), or when .build-lambda/target names another runtime or
#    architecture, it unpacks .build-lambda/<function>.zip, made before by `scripts/package RUNTIME`
#    in deploy/Dockerfile's Amazon Linux Swift image, and refuses when there is none.
# Either way scripts/elf-check refuses an artifact the runtime could not load.
PACKAGE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))scripts/package

build-PieceStorageFunction:
	"$(PACKAGE)" --sam piece-storage "$(ARTIFACTS_DIR)"

build-PictureProcessorFunction:
	"$(PACKAGE)" --sam picture-processor "$(ARTIFACTS_DIR)"

build-PictureApiFunction:
	"$(PACKAGE)" --sam picture-api "$(ARTIFACTS_DIR)"

.PHONY: build-PieceStorageFunction build-PictureProcessorFunction build-PictureApiFunction
