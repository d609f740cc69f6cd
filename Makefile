# rasos: a bare-metal x86_64 kernel about machine checks and ACPI APEI.
#
#   make run    build, boot in QEMU, show the RAS subsystem working
#   make test   host unit tests + QEMU-driven tests
#   make bench  benchmarks (target/bench.jsonl)
#
# `run` and `test` install what they need first (make setup).

SHELL := /bin/bash

FIRMWARE  ?= bios
CPUS      ?= 4
CPU       ?= intel
MEM       ?= 512M
CMDLINE   ?=
QMP       ?= target/qmp.sock
ERST      ?= target/erst.bin
ERST_SIZE ?= 0x10000
QEMU_ARGS ?=

KERNEL := target/x86_64-target/release/kernel
BOOT   := target/debug/boot
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build kernel image run test bench clean

## setup: install QEMU, OVMF and the nightly's rust-src/llvm-tools (idempotent)
setup:
	@need=""; \
	command -v qemu-system-x86_64 >/dev/null || need="$$need qemu-system-x86"; \
	[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || need="$$need ovmf"; \
	if [ -n "$$need" ]; then \
	  echo "setup: installing$$need"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q $$need || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$need; }; \
	fi
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
	  --qmp $(QMP) --erst $(ERST) --erst-size $(ERST_SIZE) --qemu-args '$(QEMU_ARGS)'

## test: host unit tests, then the QEMU-driven tests
test: setup build
	cargo test --workspace

## bench: boot time and RAS metrics; also written to target/bench.jsonl
bench: setup build
	cargo run -q --release -p tests --bin bench

clean:
	cargo clean
