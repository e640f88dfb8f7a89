//! The typed `union bpf_attr`: one variant per `bpf()` command, with the
//! fields Linux reads for it (include/uapi/linux/bpf.h). User memory the
//! kernel copies from or into (keys, values, info structs, logs) is passed
//! as slices, the emulator's `copy_from_user` / `copy_to_user`.

pub use crate::map::MapCreateAttr;
use crate::uapi::BpfCmd;
use bpfemu_isa::Insn;

/// The batch operations' shared fields (`attr->batch`).
#[derive(Debug)]
pub struct BatchAttr<'a> {
    pub map_fd: i32,
    /// `in_batch`: where to resume (`None` = from the start); opaque, the
    /// size of a key for hash maps.
    pub in_batch: Option<&'a [u8]>,
    /// `out_batch`: where the next call resumes.
    pub out_batch: &'a mut [u8],
    /// `count` keys and values (`count * key_size`, `count * value_size`).
    pub keys: &'a mut [u8],
    pub values: &'a mut [u8],
    /// In: capacity in elements; out: how many were processed.
    pub count: &'a mut u32,
    pub elem_flags: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`.
#[derive(Debug, Default)]
pub struct ProgLoadAttr<'a> {
    pub prog_type: u32,
    pub insns: &'a [Insn],
    pub license: &'a str,
    pub log_level: u32,
    /// The verifier log buffer (`log_buf`, `log_size`): `None` for no log.
    pub log: Option<&'a mut String>,
    pub log_size: u32,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: &'a [u8],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: i32,
    pub func_info_rec_size: u32,
    pub func_info: &'a [u8],
    pub line_info_rec_size: u32,
    pub line_info: &'a [u8],
    pub attach_btf_id: u32,
    pub attach_prog_fd: i32,
    /// `fd_array`: map fds for `BPF_PSEUDO_MAP_IDX` loads.
    pub fd_array: &'a [i32],
    /// `log_true_size` (out): the size the whole log needed, its NUL
    /// included (0 without a log), written whatever the outcome once the
    /// log attributes were accepted.
    pub log_true_size: Option<&'a mut u32>,
}

/// `BPF_PROG_TEST_RUN`.
#[derive(Debug, Default)]
pub struct TestRunAttr<'a> {
    pub prog_fd: i32,
    pub data_in: &'a [u8],
    /// `data_out` with its size; [`TestRunOut::data_size_out`] reports the
    /// full size.
    pub data_out: Option<&'a mut [u8]>,
    pub ctx_in: &'a [u8],
    pub ctx_out: Option<&'a mut [u8]>,
    pub repeat: u32,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    /// `duration` as user space passes it in (program types that do not
    /// measure time require 0).
    pub duration: u32,
    /// Where the kernel writes its results (the output fields of
    /// `attr->test`); `None` discards them.
    pub out: Option<&'a mut TestRunOut>,
}

/// The fields of `attr->test` that `BPF_PROG_TEST_RUN` writes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestRunOut {
    /// The program's return value.
    pub retval: u32,
    /// Average virtual duration of one run in ns.
    pub duration: u32,
    /// Full size of the output data.
    pub data_size_out: u32,
    /// Full size of the output ctx.
    pub ctx_size_out: u32,
}

/// `BPF_LINK_CREATE`.
#[derive(Debug, Default)]
pub struct LinkCreateAttr {
    pub prog_fd: i32,
    /// `target_fd` (a netns fd, cgroup fd, ...) or `target_ifindex`.
    pub target_fd: i32,
    pub attach_type: u32,
    pub flags: u32,
    pub target_btf_id: u32,
    /// `iter_info` (`union bpf_iter_link_info` bytes; `None` is a NULL
    /// pointer) and `iter_info_len` of an iterator link.
    pub iter_info: Option<Vec<u8>>,
    pub iter_info_len: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjInfo {
    Prog(ProgInfo),
    Map(MapInfo),
    Link(LinkInfo),
    Btf(BtfInfo),
}

/// `struct bpf_prog_info` (the fields bpftool shows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: Vec<u32>,
    pub name: String,
    pub gpl_compatible: bool,
    pub btf_id: u32,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub expected_attach_type: u32,
    pub nr_func_info: u32,
    pub func_info_rec_size: u32,
    pub nr_line_info: u32,
    pub line_info_rec_size: u32,
    /// The attach target's BTF object id (vmlinux: 1) and type id, 0 for
    /// none.
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
}

/// `struct bpf_map_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: String,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub frozen: bool,
}

/// `struct bpf_link_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub link_type: u32,
    pub id: u32,
    pub prog_id: u32,
    pub extra: crate::bpf::link::LinkInfoExtra,
}

/// `struct bpf_btf_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfInfo {
    pub id: u32,
    pub btf_size: u32,
    pub name: String,
    pub kernel_btf: bool,
    /// The raw BTF (what the kernel copies to `btf_info.btf`; libbpf's
    /// `btf__load_from_kernel_by_id()` reads it).
    pub data: Vec<u8>,
}

/// One `bpf()` call.
#[derive(Debug)]
pub enum BpfAttr<'a> {
    MapCreate(MapCreateAttr),
    MapLookupElem {
        map_fd: i32,
        key: &'a [u8],
        value: &'a mut [u8],
        flags: u64,
    },
    MapUpdateElem {
        map_fd: i32,
        key: &'a [u8],
        value: &'a [u8],
        flags: u64,
    },
    MapDeleteElem {
        map_fd: i32,
        key: &'a [u8],
        flags: u64,
    },
    /// `key: None` asks for the first key.
    MapGetNextKey {
        map_fd: i32,
        key: Option<&'a [u8]>,
        next_key: &'a mut [u8],
    },
    MapLookupAndDeleteElem {
        map_fd: i32,
        key: &'a [u8],
        value: &'a mut [u8],
        flags: u64,
    },
    MapFreeze {
        map_fd: i32,
    },
    MapLookupBatch(BatchAttr<'a>),
    MapLookupAndDeleteBatch(BatchAttr<'a>),
    MapUpdateBatch(BatchAttr<'a>),
    MapDeleteBatch(BatchAttr<'a>),
    ProgLoad(ProgLoadAttr<'a>),
    ProgTestRun(TestRunAttr<'a>),
    ObjPin {
        bpf_fd: i32,
        pathname: &'a str,
        file_flags: u32,
    },
    ObjGet {
        pathname: &'a str,
        file_flags: u32,
    },
    ProgGetNextId {
        start_id: u32,
        next_id: &'a mut u32,
    },
    MapGetNextId {
        start_id: u32,
        next_id: &'a mut u32,
    },
    LinkGetNextId {
        start_id: u32,
        next_id: &'a mut u32,
    },
    BtfGetNextId {
        start_id: u32,
        next_id: &'a mut u32,
    },
    ProgGetFdById {
        id: u32,
    },
    MapGetFdById {
        id: u32,
        open_flags: u32,
    },
    LinkGetFdById {
        id: u32,
    },
    BtfGetFdById {
        id: u32,
    },
    ObjGetInfoByFd {
        bpf_fd: i32,
        info: &'a mut Option<ObjInfo>,
    },
    BtfLoad {
        btf: &'a [u8],
        log: Option<&'a mut String>,
        log_level: u32,
    },
    ProgAttach {
        target_fd: i32,
        attach_bpf_fd: i32,
        attach_type: u32,
        attach_flags: u32,
        replace_bpf_fd: i32,
    },
    ProgDetach {
        target_fd: i32,
        attach_bpf_fd: i32,
        attach_type: u32,
    },
    ProgQuery {
        target_fd: i32,
        attach_type: u32,
        query_flags: u32,
        attach_flags: &'a mut u32,
        prog_ids: &'a mut Vec<u32>,
    },
    LinkCreate(LinkCreateAttr),
    LinkUpdate {
        link_fd: i32,
        new_prog_fd: i32,
        flags: u32,
        old_prog_fd: i32,
    },
    LinkDetach {
        link_fd: i32,
    },
    /// `BPF_RAW_TRACEPOINT_OPEN` (`attr->raw_tracepoint`): `name` `None`
    /// is a NULL pointer.
    RawTracepointOpen {
        name: Option<&'a str>,
        prog_fd: i32,
        cookie: u64,
    },
    /// `BPF_ITER_CREATE` (`attr->iter_create`).
    IterCreate {
        link_fd: i32,
        flags: u32,
    },
}

impl BpfAttr<'_> {
    /// The command number this call is.
    pub fn cmd(&self) -> BpfCmd {
        match self {
            BpfAttr::MapCreate(_) => BpfCmd::MapCreate,
            BpfAttr::MapLookupElem { .. } => BpfCmd::MapLookupElem,
            BpfAttr::MapUpdateElem { .. } => BpfCmd::MapUpdateElem,
            BpfAttr::MapDeleteElem { .. } => BpfCmd::MapDeleteElem,
            BpfAttr::MapGetNextKey { .. } => BpfCmd::MapGetNextKey,
            BpfAttr::MapLookupAndDeleteElem { .. } => BpfCmd::MapLookupAndDeleteElem,
            BpfAttr::MapFreeze { .. } => BpfCmd::MapFreeze,
            BpfAttr::MapLookupBatch(_) => BpfCmd::MapLookupBatch,
            BpfAttr::MapLookupAndDeleteBatch(_) => BpfCmd::MapLookupAndDeleteBatch,
            BpfAttr::MapUpdateBatch(_) => BpfCmd::MapUpdateBatch,
            BpfAttr::MapDeleteBatch(_) => BpfCmd::MapDeleteBatch,
            BpfAttr::ProgLoad(_) => BpfCmd::ProgLoad,
            BpfAttr::ProgTestRun(_) => BpfCmd::ProgTestRun,
            BpfAttr::ObjPin { .. } => BpfCmd::ObjPin,
            BpfAttr::ObjGet { .. } => BpfCmd::ObjGet,
            BpfAttr::ProgGetNextId { .. } => BpfCmd::ProgGetNextId,
            BpfAttr::MapGetNextId { .. } => BpfCmd::MapGetNextId,
            BpfAttr::LinkGetNextId { .. } => BpfCmd::LinkGetNextId,
            BpfAttr::BtfGetNextId { .. } => BpfCmd::BtfGetNextId,
            BpfAttr::ProgGetFdById { .. } => BpfCmd::ProgGetFdById,
            BpfAttr::MapGetFdById { .. } => BpfCmd::MapGetFdById,
            BpfAttr::LinkGetFdById { .. } => BpfCmd::LinkGetFdById,
            BpfAttr::BtfGetFdById { .. } => BpfCmd::BtfGetFdById,
            BpfAttr::ObjGetInfoByFd { .. } => BpfCmd::ObjGetInfoByFd,
            BpfAttr::BtfLoad { .. } => BpfCmd::BtfLoad,
            BpfAttr::ProgAttach { .. } => BpfCmd::ProgAttach,
            BpfAttr::ProgDetach { .. } => BpfCmd::ProgDetach,
            BpfAttr::ProgQuery { .. } => BpfCmd::ProgQuery,
            BpfAttr::LinkCreate(_) => BpfCmd::LinkCreate,
            BpfAttr::LinkUpdate { .. } => BpfCmd::LinkUpdate,
            BpfAttr::LinkDetach { .. } => BpfCmd::LinkDetach,
            BpfAttr::RawTracepointOpen { .. } => BpfCmd::RawTracepointOpen,
            BpfAttr::IterCreate { .. } => BpfCmd::IterCreate,
        }
    }
}
