//! `/user` menu: accounts of the web UI and the SSH console.

use ipnet::IpNet;

use crate::diag::Located;
use crate::values::Secret;

ros_enum! {
    /// A built-in user group.
    pub enum UserGroup {
        /// Everything.
        Full = "full",
        /// Read only.
        #[default]
        Read = "read",
        /// Read and change the configuration, no user management.
        Write = "write",
    }
}

menu! {
    /// A `/user` entry.
    pub struct User = "user entry" {
        /// Login name.
        name: Located<String> = "name", required;
        /// Group.
        group: UserGroup = "group", required;
        /// Password.
        password: Option<Secret> = "password", secret;
        /// Networks the user may log in from (anywhere when empty).
        address: Vec<IpNet> = "address", default(Vec::new());
        /// Whether the account is locked.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}
