# Builds the Lambda functions for `sam build` (BuildMethod: makefile): sam runs build-<LogicalId> with
# ARTIFACTS_DIR set. scripts/package does the work, the same way `scripts/package RUNTIME` does:
#  - on Amazon Linux (2023 for provided.al2023, 2 for provided.al2) it builds the function right there
#    with the ship flags (`scripts/package --swift-flags`: release, Swift runtime linked statically,
#    stripped, position-dependent, scripts/ld-lambda as the linker; scripts/bench builds with the
#    same) into ARTIFACTS_DIR: bootstrap, and lib/ with every library the runtime lacks (libturbojpeg;
#    on provided.al2 also libcurl and what it brings);
#  - anywhere else it unpacks .build-lambda/<function>.zip, made before by `scripts/package RUNTIME`
#    in deploy/Dockerfile's Amazon Linux Swift image, and refuses when there is none: a binary built on
#    a newer Linux fails at start-up on Lambda.
# Either way scripts/elf-check refuses an artifact the runtime could not load.
PACKAGE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))scripts/package

build-PieceStorageFunction:
	"$(PACKAGE)" --sam piece-storage "$(ARTIFACTS_DIR)"

build-PictureProcessorFunction:
	"$(PACKAGE)" --sam picture-processor "$(ARTIFACTS_DIR)"

build-PictureApiFunction:
	"$(PACKAGE)" --sam picture-api "$(ARTIFACTS_DIR)"

.PHONY: build-PieceStorageFunction build-PictureProcessorFunction build-PictureApiFunction
