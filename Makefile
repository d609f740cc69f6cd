# rasos: a bare-metal x86_64 kernel about machine checks and ACPI APEI.
#
#   make run    build, boot in QEMU, show the RAS subsystem working
#   make test   host unit tests + QEMU-driven tests
#   make bench  benchmarks (target/bench.jsonl)
#   make fuzz   run every parser fuzz target FUZZ_SECONDS (default 30) each
#   make usb DEV=/dev/sdX [FIRMWARE=uefi|bios] [YES=1]
#               write the image to a USB stick (checked, confirmed, verified)
#
# `run` and `test` install what they need first (make setup).

SHELL := /bin/bash

FIRMWARE  ?= bios
CPUS      ?= 4
# QEMU=10 runs QEMU 10 (x2APIC under TCG, hundreds of vCPUs) that make setup
# unpacks under target/qemu10; the default is the system's QEMU.
QEMU      ?= 7
CPU       ?= intel
MEM       ?= 512M
CMDLINE   ?= demo=on mcelogd=on
QMP       ?= target/qmp.sock
ERST      ?= target/erst.bin
ERST_SIZE ?= 0x10000
QEMU_ARGS ?=
DEV       ?=
YES       ?=
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard kernel/fuzz/fuzz_targets/*.rs)))

# `usb` writes the UEFI image unless FIRMWARE is given (command line or
# environment): the machines a stick is carried to mostly boot UEFI, while
# `run` keeps its BIOS default.
USB_FIRMWARE := $(if $(filter command line environment environment override override,$(origin FIRMWARE)),$(FIRMWARE),uefi)

# Fail before minutes of building, not after.
ifneq ($(filter usb,$(MAKECMDGOALS)),)
  ifeq ($(strip $(DEV)),)
    $(error usb: DEV is empty; give the stick's whole disk, e.g. make usb DEV=/dev/sdb (see lsblk))
  endif
  ifeq ($(filter bios uefi,$(USB_FIRMWARE)),)
    $(error usb: FIRMWARE must be uefi or bios, not '$(USB_FIRMWARE)')
  endif
endif

KERNEL := target/x86_64-target/release/kernel
BOOT   := target/debug/boot
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build kernel image run test bench usb fuzz clean

## setup: install QEMU, OVMF, QEMU 10 under target/qemu10 and the nightly's
## rust-src/llvm-tools (idempotent)
setup:
	@need=""; \
	command -v qemu-system-x86_64 >/dev/null || need="$$need qemu-system-x86"; \
	[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || need="$$need ovmf"; \
	if [ -n "$$need" ]; then \
	  echo "setup: installing$$need"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q $$need || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$need; }; \
	fi
	@bash boot/setup-qemu10.sh target/qemu10
	@comps=$$(rustup +nightly component list --installed 2>/dev/null); \
	for c in rust-src llvm-tools; do \
	  echo "$$comps" | grep -q "^$$c" || rustup +nightly component add $$c || rustup +nightly component add $$c-preview; \
	done

## kernel: the release kernel ELF
kernel:
	cargo kbuild --release

## build: the kernel and the host tool
build: kernel
	cargo build -p boot

## image: BIOS and UEFI disk images for real machines
image: build
	$(BOOT) image --kernel $(KERNEL) --firmware both --out target/images --cmdline '$(CMDLINE)'

## run: boot in QEMU (Ctrl-C stops it); the exit status is documented in README.md
run: setup build
	$(BOOT) run --kernel $(KERNEL) --out target/images --firmware $(FIRMWARE) \
	  --cpus $(CPUS) --cpu $(CPU) --mem $(MEM) --cmdline '$(CMDLINE)' \
	  --qmp $(QMP) --erst $(ERST) --erst-size $(ERST_SIZE) --qemu $(QEMU) --qemu-args '$(QEMU_ARGS)'

## test: host unit tests, then the QEMU-driven tests
test: setup build
	cargo test --workspace

## bench: boot time and RAS metrics; also written to target/bench.jsonl
bench: setup build
	cargo run -q --release -p tests --bin bench

## usb: write target/images/uefi.img (FIRMWARE=bios: bios.img) to DEV after the checks
## and a typed confirmation (YES=1 skips it), then read it back to verify;
## sudo is used only if DEV is not writable as is
usb: image
	$$([ -w '$(DEV)' ] || echo '$(SUDO)') $(BOOT) usb --image target/images/$(USB_FIRMWARE).img \
	  --dev '$(DEV)' $(if $(filter 1,$(YES)),--yes)

## fuzz: the cargo-fuzz targets in kernel/fuzz (nightly, libFuzzer), FUZZ_SECONDS each;
## new inputs collect in target/fuzz-corpus, crashes in kernel/fuzz/artifacts; not part of `test`
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	@failed=""; cd kernel && for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p ../target/fuzz-corpus/$$t; \
	  cargo +nightly fuzz run $$t ../target/fuzz-corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in kernel/fuzz/artifacts)"; exit 1; fi; \
	echo "fuzz: all targets ran $(FUZZ_SECONDS) s without a crash"

clean:
	cargo clean
