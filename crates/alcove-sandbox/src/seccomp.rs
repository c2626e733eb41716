//! The seccomp filters every environment runs under, compiled once with `seccompiler`
//! to raw BPF, sent to each sandbox's activator and installed just before the runtime
//! starts.
//!
//! Denied with EPERM: what a function never needs and what would let it reach beyond its
//! sandbox (mounts, namespaces, ptrace and cross-process memory and descriptor access,
//! kernel modules, kexec, BPF, perf, keyrings, io_uring, clock and system settings). `clone3` answers ENOSYS so
//! that libc falls back to `clone`, whose flags the filter can inspect: `clone` with
//! `CLONE_NEWUSER` (or any other namespace flag) is denied.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

use crate::launcher::SandboxError;

const DENIED: &[i64] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_adjtimex,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_fanotify_init,
    libc::SYS_lookup_dcookie,
    libc::SYS_vhangup,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    // io_uring runs system calls from kernel workers the filter never sees.
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    // Reaching into another process: its descriptors, its memory's advice, its reclaim.
    libc::SYS_pidfd_getfd,
    libc::SYS_process_madvise,
    libc::SYS_process_mrelease,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u64;

fn arch() -> TargetArch {
    #[cfg(target_arch = "aarch64")]
    return TargetArch::aarch64;
    #[cfg(not(target_arch = "aarch64"))]
    TargetArch::x86_64
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, action: SeccompAction) -> Result<Vec<u8>, SandboxError> {
    let invalid = |e: &dyn std::fmt::Display| SandboxError::Unsupported(format!("seccomp filter: {e}"));
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, action, arch()).map_err(|e| invalid(&e))?;
    let program: BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| invalid(&e))?;
    // The activator installs the raw `struct sock_filter` array.
    Ok(program
        .iter()
        .flat_map(|f| {
            let mut raw = Vec::with_capacity(8);
            raw.extend_from_slice(&f.code.to_ne_bytes());
            raw.push(f.jt);
            raw.push(f.jf);
            raw.extend_from_slice(&f.k.to_ne_bytes());
            raw
        })
        .collect())
}

/// The filters, as raw BPF programs: the EPERM list, then `clone3` → ENOSYS.
pub fn programs() -> Result<Vec<Vec<u8>>, SandboxError> {
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|nr| (*nr, vec![])).collect();
    // Any namespace bit set denies: one rule per bit, since rules are or-ed.
    let mut clone_rules = Vec::new();
    for bit in 0..64u32 {
        let flag = 1u64 << bit;
        if NAMESPACE_FLAGS & flag != 0 {
            let condition =
                SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)
                    .map_err(|e| SandboxError::Unsupported(format!("seccomp condition: {e}")))?;
            clone_rules.push(
                SeccompRule::new(vec![condition])
                    .map_err(|e| SandboxError::Unsupported(format!("seccomp rule: {e}")))?,
            );
        }
    }
    denied.insert(libc::SYS_clone, clone_rules);
    let eperm = compile(denied, SeccompAction::Errno(libc::EPERM as u32))?;
    let clone3: BTreeMap<i64, Vec<SeccompRule>> = [(libc::SYS_clone3, vec![])].into_iter().collect();
    let enosys = compile(clone3, SeccompAction::Errno(libc::ENOSYS as u32))?;
    Ok(vec![eperm, enosys])
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_compile() {
        let programs = super::programs().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty() && p.len() % 8 == 0));
    }
}
