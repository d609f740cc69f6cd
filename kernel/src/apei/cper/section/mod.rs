//! CPER section bodies (UEFI spec N.2.4 onwards) that we decode, one file per
//! section type, and [`write_section_body`], the single dispatch by section
//! type GUID shared by the describer of whole records (ERST, firmware) and
//! that of Generic Error Status Blocks (BERT, GHES). A new section type gets
//! its own file here and one arm in [`write_section_body`].

use core::fmt;

use super::mce::write_mce;
use super::{guids, LinuxMce};
use crate::apei::guid::Guid;

mod memory;
mod processor_generic;

pub use memory::{mem_valid, MemoryError};
pub use processor_generic::ProcessorGenericError;

/// Writes a section body readably when its type is one we decode.
pub(super) fn write_section_body(
    out: &mut dyn fmt::Write,
    pfx: &str,
    ty: &Guid,
    data: &[u8],
) -> fmt::Result {
    let res = match *ty {
        guids::SEC_LINUX_MCE => LinuxMce::parse(data).map(|m| write_mce(out, pfx, &m)),
        guids::SEC_PLATFORM_MEM => MemoryError::parse(data).map(|m| writeln!(out, "{pfx}{m}")),
        guids::SEC_PROC_GENERIC => {
            ProcessorGenericError::parse(data).map(|p| writeln!(out, "{pfx}{p}"))
        }
        _ => return Ok(()),
    };
    match res {
        Ok(r) => r,
        Err(e) => writeln!(out, "{pfx}(cannot decode: {e})"),
    }
}
