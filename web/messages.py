"""Error messages as the people at the desk read them (zh-CN), by the CLI/API error code.
The API and the CLI keep the code and the English message; a page shows only this text."""

from __future__ import annotations

from shouhu.errors import Conflict, Forbidden, NotFound, ShouhuError

ERROR_ZH = {
    "missing_field": "此项必填",
    "invalid_value": "取值不正确",
    "unknown_field": "不是本表单的项目",
    "born_in_future": "出生日期不能晚于今天",
    "not_a_minor": "本系统只受理未满 18 周岁的儿童（未成年人保护法第二条）",
    "discovered_in_future": "发现时间不能晚于现在",
    "duplicate_situation": "情形重复",
    "bad_id_checksum": "身份证号校验位不正确，请核对",
    "bad_id_number": "身份证号格式不正确（18 位）",
    "id_birth_mismatch": "身份证号中的出生日期与所填出生日期不一致",
    "unknown_township": "不是本辖区的乡镇（街道）",
    "unknown_village": "该村（居）不属于所选乡镇",
    "required_measure_missing": "该情形必须采取的措施未勾选",
    "ground_not_met": "案卷记录不足以支持该申请事由",
    "unknown_ground": "申请事由不在政策范围内",
    "unknown_exit_reason": "退出原因不在政策范围内",
    "task_not_open": "该任务已办结或已取消",
    "stale_version": "案件已被他人更新，请刷新后重试",
    "work_still_open": "仍有未完成的服务、回访或干预事项，暂不能结案",
    "idempotency_key_reused": "该表单已提交过且内容不同",
    "role_may_not_register": "只有公安机关接警人员可以登记强制报告",
    "role_may_not_complete": "您的角色不能办理此任务",
    "unit_may_not_complete": "此任务不属于您的单位",
    "other_jurisdiction": "不属于您的辖区",
    "bad_date": "日期格式不正确",
    "bad_datetime": "时间格式不正确",
    "visited_in_future": "走访日期不能晚于今天",
    "too_long": "内容过长",
    "control_character": "含有不允许的控制字符",
    "duplicate_item": "有重复的选项",
    "out_of_range": "日期超出允许范围",
    "naive_datetime": "时间需要带时区",
    "discovered_before_birth": "发现时间不能早于儿童出生日期",
    "bad_json": "内容不是有效的 JSON",
    "bad_encoding": "内容不是 UTF-8 文本",
    "too_deep": "内容嵌套层级过深",
    "too_large": "提交的内容过大",
    "unknown_case": "没有找到该案件（或您无权查看）",
    "unknown_task": "没有找到该任务（或您无权查看）",
    "unknown_document": "没有找到该文书（或您无权查看）",
    "document_not_masked": "该文书为旧版格式，您的角色只能查看脱敏版本",
    "not_found": "没有找到您要的内容",
    "method_not_allowed": "此地址不支持这种操作",
    "bad_request": "请求无法处理",
    "user_disabled": "该账户已停用",
    "in_future": "日期不能晚于今天",
    "before_birth": "日期不能早于儿童出生日期",
    "completion_pending": "该任务已有待处理的办理结果，请勿重复提交",
    "username_taken": "该用户名已被使用（停用的账户也不会重新分配）",
    "unit_does_not_fit_role": "该单位不适合此角色",
    "unknown_unit": "不是本辖区的单位",
    "unknown_user": "没有该用户",
    "unknown_token": "没有该令牌",
    "wrong_password": "当前密码不正确",
    "password_unchanged": "新密码不能与当前密码相同",
    "password_too_short": "新密码太短",
    "role_may_not_administer": "只有管理人员或系统管理员可以管理人员账户",
    "account_disabled": "该账户已停用",
    "not_permitted": "您没有此项权限",
    "unknown_visit": "没有找到该走访（或您无权查看）",
    "visit_not_open": "该走访已记录过",
    "unit_may_not_see": "您无权查看该单位的走访名单",
    "bad_period": "期次格式不正确",
    "bad_month": "月份格式不正确，应为如 2026-11",
    "bad_range": "结束日期早于开始日期",
    "not_applicable": "所选退出原因不适用此项",
    "not_an_object": "提交的内容格式不正确",
    "not_an_acknowledgement": "该任务需要填写办理结果",
    "identity_search_not_permitted": "您看到的是脱敏信息，不能按姓名或身份证号查找儿童",
    "unknown_child": "没有找到该儿童（或您无权查看）",
    "unknown_jurisdiction": "不是本系统的辖区",
    "missing_header": "表格第一行缺少必填的列，请使用台账模板",
    "unsupported_file": "请选择 .xlsx 或 .csv 格式的台账文件",
    "unreadable_input": "文件无法读取，请确认是 .xlsx 或 UTF-8 编码的 .csv 文件",
    "bad_credentials": "用户名或密码错误，或登录已被暂时锁定",
    "unauthenticated": "请先登录",
    "missing_user": "请先登录",
}
# For a code not listed above: what its kind of error means, never its English message.
FALLBACK_ZH = (
    (Forbidden, "您没有此项权限"),
    (NotFound, "没有找到您要的内容"),
    (Conflict, "案件状态已变化，请刷新后重试"),
)


def zh(exc: ShouhuError) -> str:
    """The error as a page says it: Chinese only (the code stays in the API's and the CLI's answer)."""
    if exc.code in ERROR_ZH:
        return ERROR_ZH[exc.code]
    return next((text for kind, text in FALLBACK_ZH if isinstance(exc, kind)), "填写有误，请核对后重试")
