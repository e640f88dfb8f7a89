//! Linux error numbers as the BPF subsystem returns them.
//!
//! Kernel counterpart: `include/uapi/asm-generic/errno-base.h`,
//! `include/uapi/asm-generic/errno.h` (the numbers x86-64 uses) and
//! `include/linux/errno.h` for the kernel-internal `ENOTSUPP` (524), which
//! BPF leaks to user space (e.g. a lookup on a ring buffer map). The messages
//! are glibc's `strerror` texts, so `Display` prints what `perror` would,
//! followed by the symbolic name: `Invalid argument (EINVAL)`.
//!
//! Only the errnos the emulated kernel can return are listed; aliases
//! (`EWOULDBLOCK` = `EAGAIN`, `ENOTSUP` = `EOPNOTSUPP`, `EDEADLOCK` =
//! `EDEADLK`) are associated constants, not separate values.

use std::fmt;

macro_rules! errnos {
    ($($name:ident = $num:literal => $msg:literal,)*) => {
        /// A Linux errno (x86-64 numbering).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(i32)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $(
                #[doc = $msg]
                $name = $num,
            )*
        }

        impl Errno {
            /// Every errno known to the emulator, in ascending numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The errno with number `raw` (positive, as in `errno`), if known.
            pub const fn from_raw(raw: i32) -> Option<Errno> {
                match raw {
                    $($num => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// The symbolic name, e.g. `"EINVAL"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The glibc `strerror` text, e.g. `"Invalid argument"`.
            pub const fn message(self) -> &'static str {
                match self {
                    $(Errno::$name => $msg,)*
                }
            }
        }
    };
}

errnos! {
    EPERM = 1 => "Operation not permitted",
    ENOENT = 2 => "No such file or directory",
    ESRCH = 3 => "No such process",
    EINTR = 4 => "Interrupted system call",
    EIO = 5 => "Input/output error",
    ENXIO = 6 => "No such device or address",
    E2BIG = 7 => "Argument list too long",
    ENOEXEC = 8 => "Exec format error",
    EBADF = 9 => "Bad file descriptor",
    ECHILD = 10 => "No child processes",
    EAGAIN = 11 => "Resource temporarily unavailable",
    ENOMEM = 12 => "Cannot allocate memory",
    EACCES = 13 => "Permission denied",
    EFAULT = 14 => "Bad address",
    EBUSY = 16 => "Device or resource busy",
    EEXIST = 17 => "File exists",
    EXDEV = 18 => "Invalid cross-device link",
    ENODEV = 19 => "No such device",
    ENOTDIR = 20 => "Not a directory",
    EISDIR = 21 => "Is a directory",
    EINVAL = 22 => "Invalid argument",
    ENFILE = 23 => "Too many open files in system",
    EMFILE = 24 => "Too many open files",
    ENOTTY = 25 => "Inappropriate ioctl for device",
    ETXTBSY = 26 => "Text file busy",
    EFBIG = 27 => "File too large",
    ENOSPC = 28 => "No space left on device",
    ESPIPE = 29 => "Illegal seek",
    EROFS = 30 => "Read-only file system",
    EMLINK = 31 => "Too many links",
    EPIPE = 32 => "Broken pipe",
    EDOM = 33 => "Numerical argument out of domain",
    ERANGE = 34 => "Numerical result out of range",
    EDEADLK = 35 => "Resource deadlock avoided",
    ENAMETOOLONG = 36 => "File name too long",
    ENOSYS = 38 => "Function not implemented",
    ENOTEMPTY = 39 => "Directory not empty",
    ELOOP = 40 => "Too many levels of symbolic links",
    ENOMSG = 42 => "No message of desired type",
    ENODATA = 61 => "No data available",
    ENOLINK = 67 => "Link has been severed",
    EPROTO = 71 => "Protocol error",
    EBADMSG = 74 => "Bad message",
    EOVERFLOW = 75 => "Value too large for defined data type",
    EBADFD = 77 => "File descriptor in bad state",
    ENOTSOCK = 88 => "Socket operation on non-socket",
    EMSGSIZE = 90 => "Message too long",
    EPROTOTYPE = 91 => "Protocol wrong type for socket",
    EPROTONOSUPPORT = 93 => "Protocol not supported",
    ESOCKTNOSUPPORT = 94 => "Socket type not supported",
    EOPNOTSUPP = 95 => "Operation not supported",
    EAFNOSUPPORT = 97 => "Address family not supported by protocol",
    EADDRINUSE = 98 => "Address already in use",
    EADDRNOTAVAIL = 99 => "Cannot assign requested address",
    ENETUNREACH = 101 => "Network is unreachable",
    ECONNRESET = 104 => "Connection reset by peer",
    ENOBUFS = 105 => "No buffer space available",
    EISCONN = 106 => "Transport endpoint is already connected",
    ENOTCONN = 107 => "Transport endpoint is not connected",
    ETIMEDOUT = 110 => "Connection timed out",
    ECONNREFUSED = 111 => "Connection refused",
    EHOSTUNREACH = 113 => "No route to host",
    EALREADY = 114 => "Operation already in progress",
    EINPROGRESS = 115 => "Operation now in progress",
    ECANCELED = 125 => "Operation canceled",
    ENOTSUPP = 524 => "Unknown error 524",
}

impl Errno {
    /// Alias of [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Alias of [`Errno::EOPNOTSUPP`] (user-space `ENOTSUP`; not the kernel's `ENOTSUPP`).
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
    /// Alias of [`Errno::EDEADLK`].
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// The positive errno number, as user space sees it in `errno`.
    pub const fn raw(self) -> i32 {
        self as i32
    }

    /// The negative value a kernel function or the raw syscall returns (`-EINVAL`).
    pub const fn neg(self) -> i64 {
        -(self as i64)
    }

    /// The symbolic name for a number, if known (`parse` companion for scenario files).
    pub fn from_name(name: &str) -> Option<Errno> {
        match name {
            "EWOULDBLOCK" => Some(Errno::EWOULDBLOCK),
            "ENOTSUP" => Some(Errno::ENOTSUP),
            "EDEADLOCK" => Some(Errno::EDEADLOCK),
            _ => Errno::ALL.iter().copied().find(|e| e.name() == name),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.name())
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for i32 {
    fn from(e: Errno) -> i32 {
        e.raw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_x86_64() {
        assert_eq!(Errno::EPERM.raw(), 1);
        assert_eq!(Errno::E2BIG.raw(), 7);
        assert_eq!(Errno::EINVAL.raw(), 22);
        assert_eq!(Errno::ENOLINK.raw(), 67);
        assert_eq!(Errno::EOPNOTSUPP.raw(), 95);
        assert_eq!(Errno::ECANCELED.raw(), 125);
        assert_eq!(Errno::ENOTSUPP.raw(), 524);
        assert_eq!(Errno::EBUSY.neg(), -16);
    }

    #[test]
    fn display_is_strerror_plus_name() {
        assert_eq!(Errno::EINVAL.to_string(), "Invalid argument (EINVAL)");
        assert_eq!(Errno::E2BIG.to_string(), "Argument list too long (E2BIG)");
        assert_eq!(Errno::ENOTSUPP.to_string(), "Unknown error 524 (ENOTSUPP)");
        assert_eq!(Errno::EAGAIN.to_string(), "Resource temporarily unavailable (EAGAIN)");
    }

    #[test]
    fn roundtrip_and_order() {
        for w in Errno::ALL.windows(2) {
            assert!(w[0].raw() < w[1].raw(), "{:?} before {:?}", w[0], w[1]);
        }
        for &e in Errno::ALL {
            assert_eq!(Errno::from_raw(e.raw()), Some(e));
            assert_eq!(Errno::from_name(e.name()), Some(e));
        }
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::from_raw(-22), None);
        assert_eq!(Errno::from_raw(37), None);
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(Errno::from_name("EBOGUS"), None);
    }

    #[test]
    fn is_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(Errno::ENOENT);
        assert_eq!(e.to_string(), "No such file or directory (ENOENT)");
    }
}
