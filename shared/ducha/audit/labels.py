"""Chinese labels for event types, contexts and roles (what users read in timelines)."""

from __future__ import annotations

from ..contracts.common import LABELS_ZH

EVENT_LABELS: dict[str, str] = {
    # intake
    "UnitRegistered": "登记被督查单位",
    "UnitUpdated": "更正单位信息",
    "HelperDepartmentRegistered": "登记市直相关单位",
    "PersonRegistered": "登记人员",
    "RoundOpened": "启动督查轮次",
    "RoundClosed": "结束督查轮次",
    "InspectionContentDrafted": "拟定督查内容",
    "InspectionContentRevised": "修改督查内容",
    "InspectionContentApproved": "督查内容审批通过",
    "InspectionContentReturned": "督查内容退回",
    "TeamFormed": "组建督查督导组",
    "TeamAssignedToUnits": "分配督查单位",
    "IssueReported": "问题上报",
    "IssueAmended": "问题更正",
    "IssueWithdrawn": "问题撤回",
    "IssueMarkedDuplicate": "标记重复问题",
    "IssueFedBack": "交办反馈",
    "SuggestionRecorded": "提出建议",
    "SuggestionHandled": "建议处理",
    # rectification
    "DeadlineSet": "设定整改时限",
    "DeadlineCommitmentMissed": "未按期承诺时限",
    "ExtensionRequested": "申请延期",
    "ExtensionGranted": "同意延期",
    "ExtensionRefused": "不同意延期",
    "ProgressReported": "报告整改进展",
    "DispatchRecorded": "调度/暗访",
    "ReminderIssued": "提醒/催办",
    "ReminderAcknowledged": "确认提醒",
    "HelpRequested": "申请帮扶",
    "HelperAssigned": "指派帮扶单位",
    "HelpReported": "报告帮扶情况",
    "RectificationSubmitted": "提交整改",
    "RectificationReopened": "重新整改",
    "DeadlineApproaching": "临近整改时限（黄灯）",
    "DeadlineMissed": "超过整改时限（红灯）",
    # verification
    "ReviewProposed": "提出审核意见",
    "ReviewProposalReturned": "审核意见退回",
    "RectificationVerified": "审核通过",
    "RectificationRejected": "审核退回",
    "LedgerEntryRecorded": "登记销号台账",
    "ProblemWrittenOff": "销号",
    "RevisitRecorded": "回访",
    "SpotCheckDrawn": "抽查抽样",
    "SpotCheckFindingRecorded": "抽查结果",
    "RecheckRecorded": "调查复核",
    "AccountabilityDecided": "问责/容错决定",
    # notify
    "SubscriptionRegistered": "登记订阅",
    "SubscriptionCancelled": "取消订阅",
    "WebhookReplayRequested": "请求重发推送",
    "WebhookDeliveryAttempted": "推送尝试",
    "WebhookDeadLettered": "推送失败",
    "NotificationRequested": "请求通知",
    "NotificationSent": "通知已发送",
    "NotificationFailed": "通知发送失败",
    "NotificationRead": "通知已读",
    "TemplateUpdated": "更新通知模板",
    "BulletinDrafted": "起草通报",
    "BulletinPublished": "发布通报",
    "BulletinNumberIssued": "通报编号",
}

CONTEXT_LABELS = {"intake": "问题受理", "rectification": "整改", "verification": "审核销号", "notify": "通知通报"}

ROLE_LABELS = {
    "office": "领导小组办公室",
    "team": "督查督导组",
    "unit": "被督查单位",
    "helper": "市直相关单位",
    "cadre": "干部监督管理部门",
    "public": "社会公众",
    "auditor": "审计核查",
    "system": "系统",
}

FIELD_LABELS = {
    "title": "标题", "description": "描述", "severity": "严重程度", "category": "类别", "location": "地点",
    "deadline": "整改时限", "plan": "整改措施", "percent": "进度%", "text": "内容", "findings": "发现情况",
    "assessment": "评估", "effectiveness": "整改成效", "submission_no": "第几次提交", "ledger_no": "台账号",
    "responsible_person": "责任人", "outcome": "结果", "change": "变更类型", "round_id": "轮次",
    "team_id": "督查组", "new_deadline": "新时限", "requested_deadline": "申请时限",
}


def event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, event_type)


def value_label(value: object) -> object:
    return LABELS_ZH.get(value, value) if isinstance(value, str) else value
