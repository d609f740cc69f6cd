//! A text console on the boot framebuffer, for real machines whose only
//! output is a screen. It mirrors the serial log.

use bootloader_api::info::{FrameBufferInfo, PixelFormat};
use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};
use spin::Mutex;

const HEIGHT: RasterHeight = RasterHeight::Size16;
const WEIGHT: FontWeight = FontWeight::Regular;
const CHAR_W: usize = get_raster_width(WEIGHT, HEIGHT);
const CHAR_H: usize = HEIGHT.val();

struct Screen {
    buf: &'static mut [u8],
    info: FrameBufferInfo,
    col: usize,
    row: usize,
}

static SCREEN: Mutex<Option<Screen>> = Mutex::new(None);

/// Takes over the framebuffer the bootloader set up.
pub fn init(buf: &'static mut [u8], info: FrameBufferInfo) {
    let s = Screen {
        buf,
        info,
        col: 0,
        row: 0,
    };
    s.buf.fill(0);
    *SCREEN.lock() = Some(s);
}

pub fn write_str(text: &str) {
    // try_lock: a re-entering NMI/#MC path skips the screen rather than
    // deadlocking; the serial line still carries the text.
    if let Some(mut g) = SCREEN.try_lock() {
        if let Some(s) = g.as_mut() {
            for c in text.chars() {
                s.put(c);
            }
        }
    }
}

impl Screen {
    fn cols(&self) -> usize {
        self.info.width / CHAR_W
    }
    fn rows(&self) -> usize {
        self.info.height / CHAR_H
    }

    fn put(&mut self, c: char) {
        match c {
            '\n' => self.newline(),
            '\r' => self.col = 0,
            c => {
                if self.col >= self.cols() {
                    self.newline();
                }
                let glyph =
                    get_raster(c, WEIGHT, HEIGHT).or_else(|| get_raster('?', WEIGHT, HEIGHT));
                if let Some(g) = glyph {
                    for (y, line) in g.raster().iter().enumerate() {
                        for (x, &v) in line.iter().enumerate() {
                            self.pixel(self.col * CHAR_W + x, self.row * CHAR_H + y, v);
                        }
                    }
                }
                self.col += 1;
            }
        }
    }

    fn newline(&mut self) {
        self.col = 0;
        self.row += 1;
        if self.row >= self.rows() {
            // Scroll by half a screen at a time: one large copy every
            // rows/2 lines instead of one per line keeps a busy log cheap.
            let keep = self.rows() / 2;
            let line_bytes = self.info.stride * self.info.bytes_per_pixel * CHAR_H;
            let from = (self.rows() - keep) * line_bytes;
            let len = keep * line_bytes;
            self.buf.copy_within(from..from + len, 0);
            self.buf[len..].fill(0);
            self.row = keep;
        }
    }

    fn pixel(&mut self, x: usize, y: usize, intensity: u8) {
        let bpp = self.info.bytes_per_pixel;
        let off = (y * self.info.stride + x) * bpp;
        let color: [u8; 4] = match self.info.pixel_format {
            PixelFormat::Rgb => [intensity, intensity, intensity / 2, 0],
            PixelFormat::Bgr => [intensity / 2, intensity, intensity, 0],
            PixelFormat::U8 => [if intensity > 200 { 0xf } else { 0 }, 0, 0, 0],
            _ => [intensity, intensity, intensity, 0],
        };
        let n = bpp.min(4);
        if let Some(px) = self.buf.get_mut(off..off + n) {
            px.copy_from_slice(&color[..n]);
        }
    }
}
